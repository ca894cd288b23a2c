package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// Versions are the spec versions whose results the suite validates.
var Versions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

// suite is one run against one target.
type suite struct {
	t        *Target
	l        *list
	second   *list // Target.Second, or l
	sb       *sandbox
	r        *runner
	rep      *Report
	ifName   string
	from, to int // graded plugins: [from, to); set-up: [0, from)
	// supported is the versions every plugin in [0, to) supports.
	supported []string
	ids       int
	runDir    string // Target's RunDirVar
}

// withRunDir puts the run's directory in place of RunDirVar.
func withRunDir(config []byte, dir string) []byte {
	return bytes.ReplaceAll(config, []byte(RunDirVar), []byte(dir))
}

// Run grades a target. An error means the suite itself could not run
// (not root, a plugin binary missing, a sandbox failure); the plugin's
// failures are FAIL rows.
func Run(t *Target) (*Report, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the conformance suite needs root (it builds network namespaces)")
	}
	runDir, err := os.MkdirTemp("", "cnc-run-")
	if err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	defer os.RemoveAll(runDir)
	l, err := parseList(withRunDir(t.Config, runDir))
	if err != nil {
		return nil, err
	}
	s := &suite{t: t, l: l, second: l, ifName: t.IfName, from: 0, to: len(l.Plugins), runDir: runDir}
	if len(t.Second) > 0 {
		if s.second, err = parseList(withRunDir(t.Second, runDir)); err != nil {
			return nil, fmt.Errorf("second: %w", err)
		}
		if !slices.Equal(s.second.Types, l.Types) {
			return nil, fmt.Errorf("second: plugins %v, want the config's %v", s.second.Types, l.Types)
		}
	}
	if t.CNIVersion != "" {
		l.CNIVersion, s.second.CNIVersion = t.CNIVersion, t.CNIVersion
	}
	if s.ifName == "" {
		s.ifName = "net1"
	}
	if t.Grade != nil {
		g := *t.Grade
		if g < 0 || g >= len(l.Plugins) {
			return nil, fmt.Errorf("grade %d: the config has plugins 0..%d", g, len(l.Plugins)-1)
		}
		s.from, s.to = g, g+1
	}
	name := t.Name
	if name == "" {
		name = l.Name
	}
	s.rep = &Report{Target: name}
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if s.sb, err = newSandbox(t.HostLinks); err != nil {
		return nil, err
	}
	defer s.sb.close()
	if s.r, err = newRunner(s.sb.host, t.CNIPath, l.Types[:s.to], timeout); err != nil {
		return nil, err
	}
	defer s.r.close()
	stop, err := s.startDaemons()
	defer stop()
	if err != nil {
		return nil, err
	}
	for _, kind := range t.Requires {
		if err := s.sb.supports(kind); err != nil {
			s.rep.add(requiresPrefix+kind, "-", Skip, "%v: every check skipped", err)
			return s.rep, nil
		}
	}
	hostBefore, err := nsutil.Take(s.sb.host)
	if err != nil {
		return nil, err
	}
	s.versionChecks()
	s.versionEcho()
	s.lifecycleChecks()
	s.resultChecks()
	s.existingIfName()
	s.tamperChecks()
	s.checkLaterChanges()
	s.delChecks()
	s.delNoPrev()
	s.errorChecks()
	s.unknownCommand()
	s.envErrorNames()
	s.chainedChecks()
	s.statusCheck()
	s.gcCheck()
	s.concurrentCheck()
	s.delegateChecks()
	s.errorCodes()
	hostAfter, err := nsutil.Take(s.sb.host)
	if err != nil {
		return nil, err
	}
	s.hygieneChecks(hostBefore, hostAfter)
	return s.rep, nil
}

// perPlugin lists the graded plugins whose own checks (errors, STATUS,
// prevResult handling) run here: all but the target's External types.
func (s *suite) perPlugin() (run []int, external []string) {
	for _, i := range s.graded() {
		if slices.Contains(s.t.External, s.l.Types[i]) {
			external = append(external, s.l.Types[i])
			continue
		}
		run = append(run, i)
	}
	return run, external
}

// label names a per-plugin row: the check, with the plugin's type when
// several plugins are graded.
func (s *suite) label(check string, i int) string {
	if s.to-s.from > 1 {
		return check + " " + s.l.Types[i]
	}
	return check
}

func (s *suite) graded() []int {
	var out []int
	for i := s.from; i < s.to; i++ {
		out = append(out, i)
	}
	return out
}

// creator says whether the graded plugins include the one that makes the
// interface (the first of the list).
func (s *suite) creator() bool { return s.from == 0 }

func (s *suite) supports(v string) bool { return slices.Contains(s.supported, v) }

// checkVersion is the version CHECK runs at: the config's when it allows
// CHECK, else the newest supported one that does.
func (s *suite) checkVersion() string {
	if atLeast(s.l.CNIVersion, "0.4.0") && s.supports(s.l.CNIVersion) {
		return s.l.CNIVersion
	}
	for i := len(s.supported) - 1; i >= 0; i-- {
		if atLeast(s.supported[i], "0.4.0") {
			return s.supported[i]
		}
	}
	return ""
}

func atLeast(v, min string) bool {
	return slices.Index(Versions, v) >= slices.Index(Versions, min) && slices.Contains(Versions, v)
}

// attachment is one pod attached through the list.
type attachment struct {
	l      *list // the config it was added with: the target's, or its second
	pod    *pod
	id     string
	ver    string
	setup  []byte // the result of the set-up plugins: prevResult of the first graded one
	result []byte // the final result
	steps  []step
}

// step is one graded plugin's ADD: what it got and what it printed.
type step struct {
	plugin    int
	prev, out []byte
}

func (s *suite) newID(what string) string {
	s.ids++
	return fmt.Sprintf("cnc-%s-%d", what, s.ids)
}

func (s *suite) call(a *attachment, cmd string, i int, netns string, stdin []byte, why string) *outcome {
	return s.r.run(&call{plugin: i, command: cmd, containerID: a.id, netns: netns, ifName: s.ifName, args: s.t.Args, stdin: stdin, why: why})
}

// prepare makes a pod and runs the set-up plugins in it.
func (s *suite) prepare(what, ver string) (*attachment, error) {
	return s.prepareTo(what, ver, s.from, s.l)
}

// prepareTo makes a pod and runs ADD of plugins [0, upTo) in it.
func (s *suite) prepareTo(what, ver string, upTo int, l *list) (*attachment, error) {
	p, err := s.sb.newPod()
	if err != nil {
		return nil, err
	}
	a := &attachment{l: l, pod: p, id: s.newID(what), ver: ver}
	var prev []byte
	for i := 0; i < upTo; i++ {
		o := s.call(a, "ADD", i, p.path, l.conf(i, l.Name, ver, prev, nil), what+": set-up")
		if !o.ok() {
			s.teardown(a)
			return nil, fmt.Errorf("set-up failed: %s", o.describe())
		}
		prev = []byte(o.stdout)
	}
	a.setup = prev
	return a, nil
}

// add runs the graded plugins' ADD; it returns the failing outcome.
func (s *suite) add(a *attachment, why string) *outcome {
	prev := a.setup
	for _, i := range s.graded() {
		o := s.call(a, "ADD", i, a.pod.path, a.l.conf(i, a.l.Name, a.ver, prev, nil), why)
		if !o.ok() {
			return o
		}
		a.steps = append(a.steps, step{plugin: i, prev: prev, out: []byte(o.stdout)})
		prev = []byte(o.stdout)
	}
	a.result = prev
	return nil
}

// check runs the graded plugins' CHECK with the final result as
// prevResult, stopping at the first failure, as libcni does.
func (s *suite) check(a *attachment, why string) *outcome {
	for _, i := range s.graded() {
		o := s.call(a, "CHECK", i, a.pod.path, a.l.conf(i, a.l.Name, a.ver, a.result, nil), why)
		if !o.ok() {
			return o
		}
	}
	return nil
}

// del runs the graded plugins' DEL in reverse order with the final
// result (when there is one) as prevResult.
func (s *suite) del(a *attachment, netns, why string) *outcome {
	g := s.graded()
	for k := len(g) - 1; k >= 0; k-- {
		o := s.call(a, "DEL", g[k], netns, a.l.conf(g[k], a.l.Name, a.ver, a.result, nil), why)
		if !o.ok() {
			return o
		}
	}
	return nil
}

// teardown removes an attachment best effort: DEL of everything, then
// the pod.
func (s *suite) teardown(a *attachment) {
	path := a.pod.path
	if _, err := os.Stat(path); err != nil {
		path = ""
	}
	prev := a.result
	if prev == nil {
		prev = a.setup
	}
	for i := s.to - 1; i >= 0; i-- {
		s.call(a, "DEL", i, path, a.l.conf(i, a.l.Name, a.ver, prev, nil), "clean-up")
	}
	s.sb.delPod(a.pod)
}

// versionResult is a VERSION answer.
type versionResult struct {
	CNIVersion        string   `json:"cniVersion"`
	SupportedVersions []string `json:"supportedVersions"`
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
