package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// passedOn are the variables a node gives egress-router's plugins
// (policy.PathEnv, nat.BackendEnv; named here so that the suite, which
// grades any plugin, does not link ours).
var passedOn = []string{"EGRESS_ROUTER_POLICY", "EGRESS_NAT_BACKEND"}

// call is one plugin invocation.
type call struct {
	plugin      int // index in the list
	command     string
	containerID string
	netns       string
	ifName      string
	args        string
	stdin       []byte
	// omit names environment variables left out entirely.
	omit []string
	// why labels the call in the report.
	why string
}

// outcome is what the plugin printed and how it exited.
type outcome struct {
	call     *call
	typ      string
	stdout   string
	stderr   string
	exit     int
	timedOut bool
	took     time.Duration
	// delegated are the calls the plugin made through CNI_PATH (and
	// those its delegates made in turn), from the spy's folder for this
	// call only.
	delegated []delegation
	// cniPath is the CNI_PATH the call got, which its delegates must get
	// too: its first folder is the call's own.
	cniPath string
}

func (o *outcome) ok() bool { return o.exit == 0 && !o.timedOut }

// cniError decodes a CNI error object from stdout.
func (o *outcome) cniError() (code uint, msg string, ok bool) {
	var e struct {
		Code *uint  `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := strictOne([]byte(o.stdout), &e); err != nil || e.Code == nil {
		return 0, "", false
	}
	return *e.Code, e.Msg, true
}

// describe says what happened, for the report.
func (o *outcome) describe() string {
	if o.timedOut {
		return fmt.Sprintf("%s %s timed out after %v", o.typ, o.call.command, o.took.Round(time.Millisecond))
	}
	if o.exit == 0 {
		return fmt.Sprintf("%s %s succeeded", o.typ, o.call.command)
	}
	if code, msg, ok := o.cniError(); ok {
		return fmt.Sprintf("%s %s failed: code %d: %s", o.typ, o.call.command, code, msg)
	}
	return fmt.Sprintf("%s %s failed: exit %d, stdout %q, stderr %q", o.typ, o.call.command, o.exit, clip(o.stdout), clip(o.stderr))
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// strictOne decodes exactly one JSON value from b, with nothing but white
// space after it.
func strictOne(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	var extra json.RawMessage
	if err := d.Decode(&extra); err != io.EOF {
		return fmt.Errorf("more than one JSON value, or trailing data")
	}
	return nil
}

// runner executes plugins in the host namespace and keeps every outcome
// for the hygiene checks.
type runner struct {
	host    string
	path    []string
	types   []string
	bins    []string
	real    []string // bins with symbolic links resolved: a delegation's parent
	timeout time.Duration
	spy     *spy

	mu       sync.Mutex
	outcomes []*outcome
}

func newRunner(host string, path []string, types []string, timeout time.Duration) (*runner, error) {
	// Absolute folders: the spy tells a delegation's caller by the path
	// of its executable, which the kernel gives absolute (-path bin would
	// otherwise match no caller), and plugins get CNI_PATH as given.
	var abs []string
	for _, d := range path {
		a, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("CNI_PATH folder %q: %w", d, err)
		}
		abs = append(abs, a)
	}
	path = abs
	r := &runner{host: host, path: path, types: types, timeout: timeout}
	for _, t := range types {
		bin, err := find(t, path)
		if err != nil {
			return nil, err
		}
		r.bins = append(r.bins, bin)
		real, err := filepath.EvalSymlinks(bin)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", bin, err)
		}
		r.real = append(r.real, real)
	}
	sp, err := newSpy(path)
	if err != nil {
		return nil, err
	}
	r.spy = sp
	return r, nil
}

func (r *runner) close() { r.spy.close() }

// cniPath is a call's CNI_PATH: the spy's wrappers first, from the
// call's own folder spyBin, so that delegated calls go through them and
// are recorded as this call's.
func (r *runner) cniPath(spyBin string) string {
	return strings.Join(append([]string{spyBin}, r.path...), string(os.PathListSeparator))
}

// direct are the calls plugin i made itself, not its delegates.
func (r *runner) direct(o *outcome) []delegation {
	var out []delegation
	for _, d := range o.delegated {
		if d.parent == r.real[o.call.plugin] {
			out = append(out, d)
		}
	}
	return out
}

func find(typ string, path []string) (string, error) {
	for _, d := range path {
		p := filepath.Join(d, typ)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("plugin %q not found in CNI_PATH %v", typ, path)
}

func (r *runner) run(c *call) *outcome {
	sc, err := r.spy.open()
	if err != nil {
		// The suite's own failure, told as the call's: it did not run.
		return r.keep(&outcome{call: c, typ: r.types[c.plugin], exit: -1, stderr: err.Error()})
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", r.host, r.bins[c.plugin])
	env := map[string]string{
		"CNI_COMMAND": c.command, "CNI_CONTAINERID": c.containerID, "CNI_NETNS": c.netns,
		"CNI_IFNAME": c.ifName, "CNI_ARGS": c.args,
		// The spy's wrappers come first, so delegated calls go through
		// them, and from this call's folder, so they are this call's.
		"CNI_PATH": r.cniPath(sc.bin()),
	}
	for _, k := range c.omit {
		delete(env, k)
	}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	// What a node's admin gives our plugins through the runtime's
	// environment (the policy file, the NAT backend) passes on, so the
	// suite grades them as configured: otherwise a run meant for the
	// iptables backend grades nftables, and locks go to the host's
	// default folder instead of the test policy's.
	for _, kv := range os.Environ() {
		for _, name := range passedOn {
			if strings.HasPrefix(kv, name+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = bytes.NewReader(c.stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	start := time.Now()
	err = cmd.Run()
	o := &outcome{call: c, typ: r.types[c.plugin], stdout: out.String(), stderr: errb.String(), took: time.Since(start),
		delegated: sc.records(), cniPath: env["CNI_PATH"]}
	if ctx.Err() != nil {
		o.timedOut, o.exit = true, -1
	} else if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			o.exit = ee.ExitCode()
		} else {
			o.exit, o.stderr = -1, err.Error()
		}
	}
	return r.keep(o)
}

// keep adds o to the run's outcomes; calls may end at the same time.
func (r *runner) keep(o *outcome) *outcome {
	r.mu.Lock()
	r.outcomes = append(r.outcomes, o)
	r.mu.Unlock()
	return o
}
