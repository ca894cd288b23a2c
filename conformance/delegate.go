package conformance

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

const (
	secForward  = "§2 CHECK, §2 STATUS, §2 GC, §4 Delegated plugin execution procedure"
	secDelegate = "§4 Delegated Plugin protocol"
	secStderr   = "§4 Delegated plugin execution procedure (stderr)"
	secDelFail  = "§4 Delegated plugin execution procedure (failed ADD)"
	secPasses   = "§2 CHECK, §2 STATUS, §4 Delegated plugin execution procedure (errors)"
)

// cniVars are the variables a delegate must get as its caller got them.
var cniVars = []string{"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"}

// delegateChecks read what the spy saw each graded plugin run through
// CNI_PATH in the whole run: a plugin that delegated on ADD must run the
// same delegate on CHECK, DEL, GC and STATUS, and every delegate must
// get its caller's variables, config and stderr. Then a delegate's ADD
// is made to fail, and the caller should DEL it.
func (s *suite) delegateChecks() {
	rows := []string{"delegate/forwards", "delegate/same-env", "delegate/same-config", "delegate/stderr", "delegate/del-after-failure", "delegate/passes-errors", "delegate/ipam-result"}
	run, external := s.perPlugin()
	uses := map[int][]string{} // graded plugin: the types it delegated to on ADD
	for _, o := range s.r.outcomes {
		if o.call.command != "ADD" || !o.ok() || !slices.Contains(run, o.call.plugin) {
			continue
		}
		for _, d := range s.r.direct(o) {
			if d.env["CNI_COMMAND"] == "ADD" && !slices.Contains(uses[o.call.plugin], d.typ) {
				uses[o.call.plugin] = append(uses[o.call.plugin], d.typ)
			}
		}
	}
	if len(uses) == 0 {
		why := "no graded plugin ran another plugin through CNI_PATH on ADD"
		if len(external) > 0 {
			why += "; " + strings.Join(external, ", ") + ": graded in a target of their own"
		}
		for _, r := range rows {
			s.rep.add(r, secDelegate, Skip, "%s", why)
		}
		return
	}
	var missing, env, config, stderr, seen []string
	forwarded := map[string]int{}
	for i, ts := range uses {
		seen = append(seen, s.l.Types[i]+" → "+strings.Join(ts, ", "))
	}
	for _, o := range s.r.outcomes {
		ts := uses[o.call.plugin]
		if len(ts) == 0 || o.call.command == "VERSION" {
			continue
		}
		label := fmt.Sprintf("%s %s (%s)", o.typ, o.call.command, o.call.why)
		direct := s.r.direct(o)
		if o.ok() && slices.Contains([]string{"CHECK", "DEL", "GC", "STATUS"}, o.call.command) {
			for _, t := range ts {
				if slices.ContainsFunc(direct, func(d delegation) bool { return d.typ == t && d.env["CNI_COMMAND"] == o.call.command }) {
					forwarded[o.call.command]++
				} else {
					missing = append(missing, fmt.Sprintf("%s succeeded without running %s %s", label, t, o.call.command))
				}
			}
		}
		for _, d := range direct {
			if bad := s.sameEnv(o, d); bad != "" {
				env = append(env, fmt.Sprintf("%s → %s: %s", label, d.typ, bad))
			}
			if bad := sameConfig(o, d); bad != "" {
				config = append(config, fmt.Sprintf("%s → %s: %s", label, d.typ, bad))
			}
			if mark := spyMark + d.typ + " " + d.env["CNI_COMMAND"]; !strings.Contains(o.stderr, mark) {
				stderr = append(stderr, fmt.Sprintf("%s: %s's stderr (%q) is not in its caller's", label, d.typ, mark))
			}
		}
	}
	var fw []string
	for _, c := range []string{"CHECK", "DEL", "GC", "STATUS"} {
		fw = append(fw, fmt.Sprintf("%s %d", c, forwarded[c]))
	}
	slices.Sort(seen)
	s.row(rows[0], secForward, firstFew(dedupe(missing)), "%s; forwarded: %s", strings.Join(seen, "; "), strings.Join(fw, ", "))
	s.row(rows[1], secDelegate, firstFew(dedupe(env)), "every delegate got its caller's CNI_ variables")
	s.row(rows[2], secDelegate, firstFew(dedupe(config)), "every delegate got its caller's config")
	s.row(rows[3], secStderr, firstFew(dedupe(stderr)), "every delegate's stderr reached its caller's")
	s.delAfterFailure(rows[4], uses)
	s.passesErrors(rows[5], uses)
	s.ipamResult(rows[6])
}

// sameEnv compares the delegate's CNI_ variables with its caller's.
func (s *suite) sameEnv(o *outcome, d delegation) string {
	c := o.call
	want := map[string]string{"CNI_COMMAND": c.command, "CNI_CONTAINERID": c.containerID, "CNI_NETNS": c.netns,
		"CNI_IFNAME": c.ifName, "CNI_ARGS": c.args, "CNI_PATH": o.cniPath}
	var bad []string
	for _, k := range cniVars {
		if slices.Contains(c.omit, k) {
			continue
		}
		got, ok := d.env[k]
		if k == "CNI_COMMAND" && c.command == "ADD" && got == "DEL" {
			continue // undoing a failed ADD, as section 4 asks
		}
		if !ok || got != want[k] {
			bad = append(bad, fmt.Sprintf("%s=%q, the caller got %q", k, got, want[k]))
		}
	}
	return strings.Join(bad, ", ")
}

// sameConfig compares the delegate's config with its caller's, as JSON.
func sameConfig(o *outcome, d delegation) string {
	var got, sent any
	if err := json.Unmarshal(d.stdin, &got); err != nil {
		return fmt.Sprintf("stdin is not JSON: %v", err)
	}
	if json.Unmarshal(o.call.stdin, &sent) == nil && !reflect.DeepEqual(got, sent) {
		return fmt.Sprintf("config %s differs from the caller's %s", clip(string(d.stdin)), clip(string(o.call.stdin)))
	}
	return ""
}

// delAfterFailure makes every delegate fail ADD, and expects each graded
// plugin that delegates to run DEL of the delegate that failed before it
// fails. (What else the failed ADD left is not graded here: the runtime
// DELs a failed ADD too.)
func (s *suite) delAfterFailure(row string, uses map[int][]string) {
	var bad, good []string
	for _, i := range s.graded() {
		if len(uses[i]) == 0 {
			continue
		}
		a, err := s.prepareTo("delfail", s.l.CNIVersion, i, s.l)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		stop, err := s.r.spy.failing("ADD")
		if err != nil {
			bad = append(bad, err.Error())
			s.teardown(a)
			continue
		}
		o := s.call(a, "ADD", i, a.pod.path, s.l.conf(i, s.l.Name, s.l.CNIVersion, a.setup, nil), "ADD with its delegate failing")
		stop()
		var failed, deleted []string
		for _, d := range s.r.direct(o) {
			switch d.env["CNI_COMMAND"] {
			case "ADD":
				failed = append(failed, d.typ)
			case "DEL":
				deleted = append(deleted, d.typ)
			}
		}
		switch {
		case o.ok():
			bad = append(bad, fmt.Sprintf("%s ADD succeeded although its delegate %v failed", s.l.Types[i], failed))
		case len(failed) == 0:
			bad = append(bad, fmt.Sprintf("%s ADD ran no delegate this time: %s", s.l.Types[i], o.describe()))
		default:
			for _, t := range failed {
				if !slices.Contains(deleted, t) {
					bad = append(bad, fmt.Sprintf("%s ADD failed at %s ADD and did not run %s DEL before failing", s.l.Types[i], t, t))
				}
			}
			good = append(good, fmt.Sprintf("%s ran DEL of %s", s.l.Types[i], strings.Join(failed, ", ")))
		}
		s.teardown(a)
	}
	s.row(row, secDelFail, bad, "when its delegate failed ADD, %s", strings.Join(good, "; "))
}

func dedupe(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// passesErrors makes every delegate fail CHECK, then STATUS: a graded
// plugin that delegates must fail them too, not hide the error.
func (s *suite) passesErrors(row string, uses map[int][]string) {
	var bad, good []string
	v := s.checkVersion()
	for _, i := range s.graded() {
		if len(uses[i]) == 0 {
			continue
		}
		if v != "" {
			a, err := s.attach("passerr", v)
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			o, err := s.failingCall("CHECK", func() *outcome {
				return s.call(a, "CHECK", i, a.pod.path, a.l.conf(i, a.l.Name, a.ver, a.result, nil), "CHECK with its delegate failing")
			})
			if err != nil {
				bad = append(bad, err.Error())
			} else if o.ok() {
				bad = append(bad, fmt.Sprintf("%s CHECK succeeded although its delegate failed CHECK", s.l.Types[i]))
			} else {
				good = append(good, s.l.Types[i]+" CHECK")
			}
			s.teardown(a)
		}
		if s.supports("1.1.0") {
			o, err := s.failingCall("STATUS", func() *outcome {
				return s.r.run(&call{plugin: i, command: "STATUS", stdin: s.l.conf(i, s.l.Name, "1.1.0", nil, nil),
					omit: []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, why: "STATUS with its delegate failing"})
			})
			switch {
			case err != nil:
				bad = append(bad, err.Error())
			case o.ok():
				bad = append(bad, fmt.Sprintf("%s STATUS succeeded although its delegate failed STATUS", s.l.Types[i]))
			default:
				good = append(good, s.l.Types[i]+" STATUS")
			}
		}
	}
	if len(bad) == 0 && len(good) == 0 {
		s.rep.add(row, secPasses, Skip, "no supported version has CHECK or STATUS")
		return
	}
	s.row(row, secPasses, bad, "with their delegates failing, these failed too: %s", strings.Join(good, ", "))
}

// failingCall runs do with every delegate failing cmd.
func (s *suite) failingCall(cmd string, do func() *outcome) (*outcome, error) {
	stop, err := s.r.spy.failing(cmd)
	defer stop()
	if err != nil {
		return nil, err
	}
	return do(), nil
}
