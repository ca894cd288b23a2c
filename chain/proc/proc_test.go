package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "child")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunPassesStdinAndEnv(t *testing.T) {
	out, errb, err := Run(context.Background(), 5*time.Second, script(t, `cat; echo "$GREETING" >&2`), []byte("in"), []string{"GREETING=hi"})
	if err != nil || string(out) != "in" || strings.TrimSpace(string(errb)) != "hi" {
		t.Errorf("stdout %q stderr %q err %v", out, errb, err)
	}
	_, _, err = Run(context.Background(), 5*time.Second, script(t, "exit 3"), nil, nil)
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("exit 3: %v", err)
	}
}

// TestDeadlineKillsTheGroup: a child that leaves a grandchild holding its
// stdout open would keep exec waiting for ever; the call returns within
// the bound and the grandchild is dead.
func TestDeadlineKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	child := script(t, `sleep 300 & echo $! > `+pidFile+`; wait`)
	start := time.Now()
	_, _, err := Run(context.Background(), time.Second, child, nil, nil)
	took := time.Since(start)
	if !errors.Is(err, ErrDeadline) || !strings.Contains(err.Error(), "child did not finish in time (1s)") {
		t.Errorf("error %v, want the deadline", err)
	}
	if took > time.Second+2*pipeGrace+time.Second {
		t.Errorf("returned after %s, want about 1s", took)
	}
	assertDead(t, pidFile)
}

// TestLeftoversAreKilled: a child that exits at once but leaves a
// grandchild in its group (with its own output closed) does not leave it
// running.
func TestLeftoversAreKilled(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	child := script(t, `sleep 300 >/dev/null 2>&1 </dev/null & echo $! > `+pidFile+`; echo done`)
	out, _, err := Run(context.Background(), 10*time.Second, child, nil, nil)
	if err != nil || strings.TrimSpace(string(out)) != "done" {
		t.Fatalf("stdout %q err %v", out, err)
	}
	assertDead(t, pidFile)
}

func assertDead(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, c := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(c-'0')
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		// Killed and reaped by init, or a zombie awaiting it.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if st, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("grandchild %d still runs", pid)
}
