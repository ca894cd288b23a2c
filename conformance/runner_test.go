package conformance

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A relative -path (the README's `-path bin`) works as an absolute one:
// the spy matches a delegation's caller by its executable's absolute
// path, so a relative one left every delegate/* check skipped.
func TestRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("bin", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("bin", "fake"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := newRunner("host", []string{"bin"}, []string{"fake"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	for _, p := range append(append([]string{}, r.path...), r.real...) {
		if !filepath.IsAbs(p) {
			t.Errorf("%q is relative: %+v", p, r)
		}
	}
}
