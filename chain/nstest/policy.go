package nstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/egress-router/egress-router/chain/policy"
)

// policyDir holds the test policy of this test process (see Main).
var policyDir string

// Main runs a package's tests with the plugins they start pointed at a
// policy of the tests' own (policy.PathEnv, inherited by every child):
// logs go to a temporary folder, never the host's /var/log/egress-router.
// Use it as the package's TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "egress-test-policy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	policyDir = dir
	if err := writePolicy(filepath.Join(dir, "policy.json"), map[string]any{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(policy.PathEnv, filepath.Join(dir, "policy.json"))
	// The host's own folders must not appear: a plugin that ran without
	// the test policy (a runtime that drops the environment) wrote there.
	hostDirs := map[string]bool{}
	for _, d := range []string{policy.DefaultLogDir, policy.DefaultLockDir} {
		_, err := os.Stat(d)
		hostDirs[d] = err == nil
	}
	code := m.Run()
	os.RemoveAll(dir)
	for d, existed := range hostDirs {
		if _, err := os.Stat(d); err == nil && !existed {
			fmt.Fprintf(os.Stderr, "FAIL: a plugin ran without the test policy: it made the host's %s\n", d)
			code = 1
		}
	}
	os.Exit(code)
}

// LogDir is the folder the test policy sends plugin logs to.
func LogDir() string { return filepath.Join(policyDir, "log") }

// UsePolicy gives the plugins a policy with these fields (the test log
// folder unless given) for the rest of t. It rewrites the file Main
// named, so plugins started by long-running processes (containerd,
// Multus) see it too; tests that use it must not run in parallel.
func UsePolicy(t testing.TB, fields map[string]any) {
	t.Helper()
	path := filepath.Join(policyDir, "policy.json")
	if policyDir == "" {
		t.Fatal("UsePolicy needs nstest.Main as the package's TestMain")
	}
	if err := writePolicy(path, fields); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := writePolicy(path, map[string]any{}); err != nil {
			t.Error(err)
		}
	})
}

func writePolicy(path string, fields map[string]any) error {
	if _, ok := fields["logDir"]; !ok {
		fields["logDir"] = LogDir()
	}
	if _, ok := fields["lockDir"]; !ok {
		fields["lockDir"] = filepath.Join(policyDir, "lock")
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	if _, err := policy.Parse(b); err != nil {
		return fmt.Errorf("test policy %s: %w", b, err)
	}
	return os.WriteFile(path, b, 0o600)
}
