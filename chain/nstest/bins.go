package nstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Binaries every integration test needs in its CNI_PATH.
var Binaries = []string{"egress-route", "egress-nat", "egress-router", "egress-ipconfig", "macvlan", "ipvlan", "static", "portmap", "cnitool"}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// BinDir returns a folder holding our plugins, the pinned upstream
// plugins and cnitool. `make test` builds them into bin/ and sets
// EGRESS_BIN; a plain `go test` builds them once into a temp folder.
func BinDir(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if d := os.Getenv("EGRESS_BIN"); d != "" {
			binDir = d
			// go test runs in each package's folder: a relative
			// EGRESS_BIN means the module root's.
			if !filepath.IsAbs(d) {
				if root, err := moduleRoot(); err == nil {
					binDir = filepath.Join(root, d)
				}
			}
		} else {
			binDir, binErr = build()
		}
		if binErr == nil {
			for _, b := range Binaries {
				if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
					binErr = fmt.Errorf("%s missing in %s (run make build): %v", b, binDir, err)
					break
				}
			}
		}
	})
	if binErr != nil {
		t.Fatalf("test binaries: %v", binErr)
	}
	return binDir
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "egress-bin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", "-s", "build", "BIN="+dir)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make build: %v: %s", err, b)
	}
	return dir, nil
}

// Need skips nothing: it fails the test when not root, since every
// integration test needs namespaces.
func Need(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root (network namespaces, links, iptables); run make test as root")
	}
}
