// Package proc runs the child processes our plugins start (the interface
// plugin, egress-ipconfig) under a deadline, each in a process group of
// its own. When the deadline passes the whole group is killed, and the
// call stops waiting for pipes a grandchild may still hold, so no child
// outlives the call or keeps it waiting.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ErrDeadline reports a child that did not finish in time; it was killed
// with its process group.
var ErrDeadline = errors.New("did not finish in time")

// pipeGrace is how long Run waits for a killed group's pipes to close
// before it gives up on them (a grandchild that left the group).
const pipeGrace = 500 * time.Millisecond

// Run runs path with stdin and environ (nil: this process's environment)
// and returns its stdout and stderr. It returns at the latest shortly
// after timeout, with an error wrapping ErrDeadline. A process group the
// child leaves behind is killed too.
func Run(ctx context.Context, timeout time.Duration, path string, stdin []byte, environ []string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for try := 0; ; try++ {
		stdout, stderr, err = run(ctx, path, stdin, environ)
		// A plugin being replaced (an installer's rename) can be busy
		// for a moment.
		if errors.Is(err, syscall.ETXTBSY) && try < 5 && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	if ctx.Err() != nil {
		return stdout, stderr, fmt.Errorf("%s %w (%s); killed with its process group", filepath.Base(path), ErrDeadline, timeout)
	}
	return stdout, stderr, err
}

func run(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, []byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = environ
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = pipeGrace
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the child left running in its group goes with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return out.Bytes(), errb.Bytes(), err
}
