package nstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
}

// Outcome is what the plugin printed and how it exited.
type Outcome struct {
	Stdout, Stderr string
	ExitCode       int
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
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"CNI_COMMAND="+c.Command, "CNI_CONTAINERID="+c.ContainerID, "CNI_NETNS="+c.Netns,
		"CNI_IFNAME="+c.IfName, "CNI_ARGS="+c.Args, "CNI_PATH="+c.Path)
	cmd.Env = append(cmd.Env, c.ExtraEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	o := Outcome{Stdout: out.String(), Stderr: errb.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			return o, fmt.Errorf("run %s: %v", plugin, err)
		}
		o.ExitCode = ee.ExitCode()
	}
	return o, nil
}
