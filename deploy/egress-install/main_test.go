package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstall(t *testing.T) {
	src, dest := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{"egress-router": "v1 router", "macvlan": "v1 macvlan"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(src, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := install(src, dest)
	if err != nil || n != 2 {
		t.Fatalf("first install: %d %v", n, err)
	}
	for _, name := range []string{"egress-router", "macvlan"} {
		st, err := os.Stat(filepath.Join(dest, name))
		if err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want mode 0755", name, st, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "subdir")); err == nil {
		t.Error("a folder was installed")
	}
	// Unchanged files are left alone; a changed one is replaced.
	if n, err := install(src, dest); err != nil || n != 0 {
		t.Errorf("second install wrote %d: %v", n, err)
	}
	if err := os.WriteFile(filepath.Join(src, "macvlan"), []byte("v2 macvlan"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := install(src, dest); err != nil || n != 1 {
		t.Errorf("upgrade wrote %d: %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "macvlan")); string(b) != "v2 macvlan" {
		t.Errorf("macvlan holds %q", b)
	}
	// No temporary files are left beside the binaries.
	left, _ := os.ReadDir(dest)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

func TestInstallErrors(t *testing.T) {
	src := t.TempDir()
	if _, err := install(src, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no binaries") {
		t.Errorf("empty source: %v", err)
	}
	_ = os.WriteFile(filepath.Join(src, "egress-router"), []byte("x"), 0o600)
	if _, err := install(src, filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "host path mounted") {
		t.Errorf("missing destination: %v", err)
	}
}
