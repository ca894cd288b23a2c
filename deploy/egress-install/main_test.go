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

// TestInstallPolicy: the ConfigMap's policy is installed only when it
// parses; none in the ConfigMap removes the node's.
func TestInstallPolicy(t *testing.T) {
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "cm", "policy.json"), filepath.Join(dir, "host", "etc", "cni", "egress-router", "policy.json")
	os.MkdirAll(filepath.Dir(src), 0o755)
	os.WriteFile(src, []byte(`{"masters": ["ens4"]}`), 0o600)
	if what, err := installPolicy(src, dest); err != nil || what != "installed" {
		t.Fatalf("%s %v", what, err)
	}
	if st, err := os.Stat(dest); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("installed policy %v %v, want mode 0644", st, err)
	}
	if what, _ := installPolicy(src, dest); what != "up to date" {
		t.Errorf("second install: %s", what)
	}
	// A broken policy is not installed: the node keeps the last good one.
	os.WriteFile(src, []byte(`{"Masters": ["ens5"]}`), 0o600)
	if _, err := installPolicy(src, dest); err == nil || !strings.Contains(err.Error(), "is not installed") {
		t.Errorf("broken policy: %v", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != `{"masters": ["ens4"]}` {
		t.Errorf("node policy %q after a broken one", b)
	}
	os.Remove(src)
	if what, err := installPolicy(src, dest); err != nil || !strings.HasPrefix(what, "removed") {
		t.Errorf("no policy: %s %v", what, err)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("the node policy is still there")
	}
	if what, err := installPolicy(src, dest); err != nil || !strings.HasPrefix(what, "none") {
		t.Errorf("no policy, none installed: %s %v", what, err)
	}
}
