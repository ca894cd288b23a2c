package nstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Call is one plugin invocation the way a runtime makes it: environment
// variables, config on stdin, result or error on stdout.
type Call struct {
	Command     string // ADD, CHECK, DEL, VERSION, STATUS, GC
	ContainerID string
	Netns       string // path; "" leaves CNI_NETNS empty
	IfName      string
	Args        string // CNI_ARGS
	Path        string // CNI_PATH
	RunIn       string // namespace name to run the plugin in ("" = current)
	ExtraEnv    []string
	// Timeout kills the plugin after this long (0: no bound); Outcome
	// says so.
	Timeout time.Duration
}

// Outcome is what the plugin printed and how it exited.
type Outcome struct {
	Stdout, Stderr string
	ExitCode       int
	TimedOut       bool
	Took           time.Duration
}

// Error decodes a CNI error from stdout; ok is false if stdout is not one.
func (o Outcome) Error() (code uint, msg string, ok bool) {
	var e struct {
		Code uint   `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := json.Unmarshal([]byte(o.Stdout), &e); err != nil || e.Code == 0 {
		return 0, "", false
	}
	return e.Code, e.Msg, true
}

// Run executes plugin (a binary name in c.Path's first folder, or a path)
// with stdin as the network config.
func Run(plugin string, c Call, stdin []byte) (Outcome, error) {
	bin := plugin
	if !strings.Contains(plugin, "/") {
		bin = filepath.Join(strings.Split(c.Path, ":")[0], plugin)
	}
	argv := []string{bin}
	if c.RunIn != "" {
		argv = append([]string{"ip", "netns", "exec", c.RunIn}, argv...)
	}
	ctx := context.Background()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"CNI_COMMAND="+c.Command, "CNI_CONTAINERID="+c.ContainerID, "CNI_NETNS="+c.Netns,
		"CNI_IFNAME="+c.IfName, "CNI_ARGS="+c.Args, "CNI_PATH="+c.Path)
	cmd.Env = append(cmd.Env, c.ExtraEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	o := Outcome{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(start), TimedOut: ctx.Err() != nil}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			return o, fmt.Errorf("run %s: %v", plugin, err)
		}
		o.ExitCode = ee.ExitCode()
	}
	return o, nil
}

// WantError fails t unless the invocation failed the CNI way: non-zero
// exit, a CNI error on stdout with the code, and a message holding every
// fragment.
func (o Outcome) WantError(t testing.TB, code uint, fragments ...string) {
	t.Helper()
	if o.ExitCode == 0 {
		t.Fatalf("exit 0, want failure; stdout %s", o.Stdout)
	}
	got, msg, ok := o.Error()
	if !ok {
		t.Fatalf("stdout is not a CNI error: %q (stderr %q)", o.Stdout, o.Stderr)
	}
	if got != code {
		t.Errorf("error code %d, want %d (%s)", got, code, msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error message %q lacks %q", msg, f)
		}
	}
}
