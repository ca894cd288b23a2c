package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// startDaemons starts the target's daemons and waits until each is
// ready. stop kills them all (each in its own process group, so a shell
// and what it started go together); it is never nil.
func (s *suite) startDaemons() (stop func(), err error) {
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
	}
	for i, d := range s.t.Daemons {
		ns := s.sb.host
		if d.In == "ext" {
			ns = s.sb.ext
		}
		log := filepath.Join(s.runDir, fmt.Sprintf("daemon%d.log", i))
		out, err := os.Create(log)
		if err != nil {
			return stop, fmt.Errorf("daemon %s: %w", d.Name, err)
		}
		c := exec.Command("ip", "netns", "exec", ns, "sh", "-c", d.Run)
		c.Env = append(s.env(), "PATH="+strings.Join(append(append([]string{}, s.t.CNIPath...), os.Getenv("PATH")), string(os.PathListSeparator)))
		c.Stdout, c.Stderr = out, out
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = c.Start()
		out.Close()
		if err != nil {
			return stop, fmt.Errorf("daemon %s: %w", d.Name, err)
		}
		cmds = append(cmds, c)
		if d.Ready == "" {
			continue
		}
		ready := strings.ReplaceAll(d.Ready, RunDirVar, s.runDir)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(log)
				return stop, fmt.Errorf("daemon %s: %s did not appear in 5s: %s", d.Name, ready, clip(string(b)))
			}
		}
	}
	return stop, nil
}

// env is the environment of the target's own commands (daemons, owned
// resources' removal): ours, with the run's directory.
func (s *suite) env() []string {
	return append(os.Environ(), strings.TrimPrefix(RunDirVar, "$")+"="+s.runDir)
}
