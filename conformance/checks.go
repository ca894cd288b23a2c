package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// Spec sections (CNI SPEC.md, 1.1.0) the checks come from.
const (
	secVersion  = "§2 VERSION, §5 VERSION Success"
	secIncompat = "§5 Error (code 1)"
	secAdd      = "§2 ADD, §5 ADD Success"
	secAddIf    = "§2 ADD (existing interface)"
	secCheck    = "§2 CHECK"
	secDel      = "§2 DEL"
	secParams   = "§2 Parameters, §5 Error (code 4)"
	secDecode   = "§5 Error (code 6)"
	secName     = "§1 Configuration format (name)"
	secErrors   = "§2 Errors, §5 Error"
	secChain    = "§2 ADD (prevResult), §5 ADD Success"
	secStatus   = "§2 STATUS"
	secGC       = "§2 GC"
	secStdout   = "§2 Overview, §5"
	secHost     = "§2 DEL, §2 Overview"
)

func (s *suite) versionChecks() {
	var bad, lacks []string
	for i := 0; i < s.to; i++ {
		o := s.r.run(&call{plugin: i, command: "VERSION", stdin: mustJSON(map[string]string{"cniVersion": s.l.CNIVersion}),
			omit: []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, why: "VERSION"})
		var v versionResult
		if !o.ok() {
			bad = append(bad, o.describe())
			continue
		}
		if err := strictOne([]byte(o.stdout), &v); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v: %q", s.l.Types[i], err, clip(o.stdout)))
			continue
		}
		if len(v.SupportedVersions) == 0 {
			bad = append(bad, fmt.Sprintf("%s: no supportedVersions", s.l.Types[i]))
		}
		if v.CNIVersion == "" {
			bad = append(bad, fmt.Sprintf("%s: no cniVersion", s.l.Types[i]))
		}
		if !slices.Contains(v.SupportedVersions, s.l.CNIVersion) && i >= s.from {
			lacks = append(lacks, fmt.Sprintf("%s supports %v", s.l.Types[i], v.SupportedVersions))
		}
		var vs []string
		for _, x := range Versions {
			if slices.Contains(v.SupportedVersions, x) {
				vs = append(vs, x)
			}
		}
		if i == 0 {
			s.supported = vs
		} else {
			s.supported = slices.DeleteFunc(s.supported, func(x string) bool { return !slices.Contains(vs, x) })
		}
	}
	if len(bad) > 0 {
		s.rep.add("version/json", secVersion, Fail, "%s", strings.Join(bad, "; "))
	} else {
		s.rep.add("version/json", secVersion, Pass, "every plugin answers VERSION with cniVersion and supportedVersions; together they support %v", s.supported)
	}
	if len(lacks) > 0 {
		s.rep.add("version/config", secVersion, Fail, "the config's %s is not supported: %s", s.l.CNIVersion, strings.Join(lacks, "; "))
	} else {
		s.rep.add("version/config", secVersion, Pass, "supportedVersions contain the config's %s", s.l.CNIVersion)
	}

}

// wantError adds a row that passes when o failed the CNI way with code
// (0: any code).
func (s *suite) wantError(check, section string, o *outcome, code uint, what string) bool {
	if o.ok() {
		s.rep.add(check, section, Fail, "%s succeeded; want an error", what)
		return false
	}
	got, msg, ok := o.cniError()
	switch {
	case o.timedOut:
		s.rep.add(check, section, Fail, "%s: %s", what, o.describe())
	case !ok:
		s.rep.add(check, section, Fail, "%s: exit %d but stdout is not a CNI error: %q", what, o.exit, clip(o.stdout))
	case code != 0 && got != code:
		s.rep.add(check, section, Fail, "%s: code %d (%s), want %d", what, got, msg, code)
	default:
		s.rep.add(check, section, Pass, "%s: code %d: %s", what, got, msg)
		return true
	}
	return false
}

// lifecycleChecks attaches one pod at the config's version: the result,
// what it says is in the pod, CHECK, prevResult passed on, and DEL
// (twice, then with an empty CNI_NETNS, as containerd does).
func (s *suite) lifecycleChecks() {
	ver := s.l.CNIVersion
	resultRow := "add/result " + ver
	fail := func(why string, rows ...string) {
		for _, r := range rows {
			s.rep.add(r, secAdd, Fail, "%s", why)
		}
	}
	a, err := s.prepare("main", ver)
	if err != nil {
		fail(err.Error(), resultRow, "add/in-netns", "del/leaves-nothing")
		return
	}
	defer s.teardown(a)
	before, err := nsutil.Take(a.pod.name)
	if err != nil {
		fail(err.Error(), resultRow)
		return
	}
	if o := s.add(a, "ADD"); o != nil {
		fail(o.describe(), resultRow, "add/in-netns", "del/leaves-nothing", "del/twice", "del/empty-netns")
		return
	}
	r, bad := validateResult(a.result, ver, a.pod.path, s.ifName, s.creator())
	s.row(resultRow, secAdd, bad, "a valid %s result (%d interfaces, %d ips, %d routes)", ver, lenIf(r), lenIPs(r), lenRoutes(r))
	if r != nil {
		bad = inNetns(r, a.pod.path)
		s.row("add/in-netns", secAdd, bad, "the %d interfaces and %d addresses the result puts in the pod are there", countIn(r, a.pod.path), lenIPs(r))
	}
	if atLeast(ver, "0.4.0") {
		if o := s.check(a, "CHECK after ADD"); o != nil {
			s.rep.add("check/after-add", secCheck, Fail, "%s", o.describe())
		} else {
			s.rep.add("check/after-add", secCheck, Pass, "CHECK at %s right after ADD passes", ver)
		}
	} else {
		s.checkAfterAdd()
	}
	s.passesPrev(a)

	if o := s.del(a, a.pod.path, "DEL"); o != nil {
		s.rep.add("del/leaves-nothing", secDel, Fail, "%s", o.describe())
	} else {
		after, err := nsutil.Take(a.pod.name)
		switch {
		case err != nil:
			s.rep.add("del/leaves-nothing", secDel, Fail, "%v", err)
		case before.Changes(after) != "":
			s.rep.add("del/leaves-nothing", secDel, Fail, "the pod differs from before ADD: %s", before.Changes(after))
		default:
			s.rep.add("del/leaves-nothing", secDel, Pass, "links, addresses, routes, rules and iptables in the pod equal the snapshot before ADD")
		}
	}
	if o := s.del(a, a.pod.path, "second DEL"); o != nil {
		s.rep.add("del/twice", secDel, Fail, "second DEL: %s", o.describe())
	} else {
		s.rep.add("del/twice", secDel, Pass, "a second DEL succeeds")
	}
	if o := s.del(a, "", "DEL with an empty CNI_NETNS"); o != nil {
		s.rep.add("del/empty-netns", secDel, Fail, "%s", o.describe())
	} else {
		s.rep.add("del/empty-netns", secDel, Pass, "DEL with an empty CNI_NETNS succeeds (containerd's second DEL)")
	}
}

// checkAfterAdd runs CHECK on its own attachment when the config's
// version predates CHECK.
func (s *suite) checkAfterAdd() {
	v := s.checkVersion()
	if v == "" {
		s.rep.add("check/after-add", secCheck, Skip, "no supported version has CHECK (0.4.0 or later)")
		return
	}
	a, err := s.attach("check", v)
	if err != nil {
		s.rep.add("check/after-add", secCheck, Fail, "%v", err)
		return
	}
	defer s.teardown(a)
	if o := s.check(a, "CHECK after ADD"); o != nil {
		s.rep.add("check/after-add", secCheck, Fail, "%s", o.describe())
		return
	}
	s.rep.add("check/after-add", secCheck, Pass, "CHECK at %s right after ADD passes (the config's %s has no CHECK)", v, s.l.CNIVersion)
}

// attach prepares a pod and runs the graded ADD.
func (s *suite) attach(what, ver string) (*attachment, error) {
	a, err := s.prepare(what, ver)
	if err != nil {
		return nil, err
	}
	if o := s.add(a, "ADD"); o != nil {
		s.teardown(a)
		return nil, fmt.Errorf("ADD: %s", o.describe())
	}
	return a, nil
}

func (s *suite) passesPrev(a *attachment) {
	var bad []string
	n := 0
	for _, st := range a.steps {
		if len(st.prev) == 0 {
			continue
		}
		n++
		for _, b := range carries(st.prev, st.out) {
			bad = append(bad, s.l.Types[st.plugin]+": "+b)
		}
	}
	if n == 0 {
		s.rep.add("chained/passes-prev", secChain, Skip, "no graded plugin gets a prevResult")
		return
	}
	s.row("chained/passes-prev", secChain, bad, "%d chained plugin(s) output every interface and address of their prevResult", n)
}

// resultChecks attaches at every other version the plugins support.
func (s *suite) resultChecks() {
	for _, v := range Versions {
		if v == s.l.CNIVersion {
			continue
		}
		row := "add/result " + v
		if !s.supports(v) {
			s.rep.add(row, secAdd, Skip, "%s is not in every plugin's supportedVersions", v)
			continue
		}
		a, err := s.attach("v"+strings.ReplaceAll(v, ".", ""), v)
		if err != nil {
			s.rep.add(row, secAdd, Fail, "%v", err)
			continue
		}
		r, bad := validateResult(a.result, v, a.pod.path, s.ifName, s.creator())
		if r != nil {
			bad = append(bad, inNetns(r, a.pod.path)...)
		}
		s.row(row, secAdd, bad, "a valid %s result, and it is what the pod has", v)
		s.teardown(a)
	}
}

func (s *suite) existingIfName() {
	const row = "add/existing-ifname"
	if !s.creator() {
		s.rep.add(row, secAddIf, Skip, "the graded plugin is chained: it adjusts the interface an earlier plugin made")
		return
	}
	a, err := s.prepare("exists", s.l.CNIVersion)
	if err != nil {
		s.rep.add(row, secAddIf, Fail, "%v", err)
		return
	}
	defer s.teardown(a)
	if err := nsutil.IP(a.pod.name, "link add "+s.ifName+" type veth peer name cnc-peer", "link set "+s.ifName+" up"); err != nil {
		s.rep.add(row, secAddIf, Fail, "%v", err)
		return
	}
	before, err := nsutil.Take(a.pod.name)
	if err != nil {
		s.rep.add(row, secAddIf, Fail, "%v", err)
		return
	}
	o := s.add(a, "ADD onto an existing interface")
	if o == nil {
		s.rep.add(row, secAddIf, Fail, "ADD succeeded although the pod already had %q", s.ifName)
		return
	}
	if !s.wantError(row, secAddIf, o, 0, "ADD with "+s.ifName+" already in the pod") {
		return
	}
	if after, err := nsutil.Take(a.pod.name); err == nil && before.Changes(after) != "" {
		s.rep.Rows[len(s.rep.Rows)-1] = Row{row, secAddIf, Fail, "the failed ADD changed the pod: " + before.Changes(after)}
	}
}

// tamperChecks remove, by hand, something the plugin made and expect
// CHECK to notice.
func (s *suite) tamperChecks() {
	v := s.checkVersion()
	type tamper struct {
		row string
		do  func(a *attachment, r *rawResult) (string, error)
	}
	var ts []tamper
	if s.creator() {
		ts = append(ts, tamper{"check/address-removed", func(a *attachment, r *rawResult) (string, error) {
			for _, ip := range r.IPs {
				if ip.Interface != nil && r.Interfaces[*ip.Interface].Name == s.ifName {
					return "removed " + ip.Address, nsutil.IP(a.pod.name, "addr del "+ip.Address+" dev "+s.ifName)
				}
			}
			return "", errSkip
		}}, tamper{"check/interface-removed", func(a *attachment, _ *rawResult) (string, error) {
			return "deleted " + s.ifName, nsutil.IP(a.pod.name, "link del "+s.ifName)
		}})
	}
	for _, res := range s.t.Owns {
		res := res
		ts = append(ts, tamper{"check/owned: " + res.Name, func(a *attachment, _ *rawResult) (string, error) {
			in := a.pod.name
			if res.In == "host" {
				in = s.sb.host
			}
			cmd := exec.Command("ip", "netns", "exec", in, "sh", "-c", res.Remove)
			cmd.Env = append(os.Environ(), "CNI_IFNAME="+s.ifName, "CNI_NETNS="+a.pod.path, "CNI_CONTAINERID="+a.id)
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("%q: %v: %s", res.Remove, err, out)
			}
			return "ran " + res.Remove, nil
		}})
	}
	if len(ts) == 0 {
		s.rep.add("check/owned", secCheck, Skip, "the graded plugin is chained and declares nothing it owns (Target.Owns)")
		return
	}
	for _, t := range ts {
		if v == "" {
			s.rep.add(t.row, secCheck, Skip, "no supported version has CHECK")
			continue
		}
		a, err := s.attach("tamper", v)
		if err != nil {
			s.rep.add(t.row, secCheck, Fail, "%v", err)
			continue
		}
		var r rawResult
		_ = strictOne(a.result, &r)
		what, err := t.do(a, &r)
		switch {
		case err == errSkip:
			s.rep.add(t.row, secCheck, Skip, "the result has no address on %q", s.ifName)
		case err != nil:
			s.rep.add(t.row, secCheck, Fail, "could not tamper: %v", err)
		default:
			if o := s.check(a, "CHECK after tampering"); o == nil {
				s.rep.add(t.row, secCheck, Fail, "%s; CHECK still passes", what)
			} else if _, msg, ok := o.cniError(); ok {
				s.rep.add(t.row, secCheck, Pass, "%s; CHECK fails: %s", what, msg)
			} else {
				s.rep.add(t.row, secCheck, Fail, "%s; CHECK fails but not with a CNI error: %s", what, o.describe())
			}
		}
		s.teardown(a)
	}
}

var errSkip = fmt.Errorf("skip")

func (s *suite) delChecks() {
	a, err := s.prepare("noadd", s.l.CNIVersion)
	if err != nil {
		s.rep.add("del/without-add", secDel, Fail, "%v", err)
	} else {
		before, _ := nsutil.Take(a.pod.name)
		if o := s.del(a, a.pod.path, "DEL without ADD"); o != nil {
			s.rep.add("del/without-add", secDel, Fail, "%s", o.describe())
		} else if after, _ := nsutil.Take(a.pod.name); before.Changes(after) != "" {
			s.rep.add("del/without-add", secDel, Fail, "DEL without ADD changed the pod: %s", before.Changes(after))
		} else {
			s.rep.add("del/without-add", secDel, Pass, "DEL of an attachment never added succeeds and changes nothing")
		}
		s.teardown(a)
	}

	a, err = s.attach("gone", s.l.CNIVersion)
	if err != nil {
		s.rep.add("del/netns-gone", secDel, Fail, "%v", err)
		return
	}
	path := a.pod.path
	if err := nsutil.Del(a.pod.name); err != nil {
		s.rep.add("del/netns-gone", secDel, Fail, "%v", err)
	} else if o := s.del(a, path, "DEL after the netns is gone"); o != nil {
		s.rep.add("del/netns-gone", secDel, Fail, "%s", o.describe())
	} else {
		s.rep.add("del/netns-gone", secDel, Pass, "DEL with CNI_NETNS naming a deleted namespace succeeds")
	}
	s.teardown(a)
}

// errorChecks send each graded plugin bad input, after the plugins before
// it ran, so the input is the only thing wrong.
func (s *suite) errorChecks() {
	run, external := s.perPlugin()
	if len(external) > 0 {
		s.rep.add("error/*", secErrors, Skip, "%s: graded in a target of their own", strings.Join(external, ", "))
	}
	for _, i := range run {
		s.pluginErrors(i)
	}
}

func (s *suite) pluginErrors(i int) {
	a, err := s.prepareTo("errors", s.l.CNIVersion, i)
	if err != nil {
		s.rep.add(s.label("error/*", i), secErrors, Fail, "%v", err)
		return
	}
	defer s.teardown(a)
	good := s.l.conf(i, s.l.Name, s.l.CNIVersion, a.setup, nil)
	cases := []struct {
		row, section string
		omit         []string
		stdin        []byte
		code         uint
		what         string
	}{
		{"version/unsupported", secIncompat, nil, s.l.conf(i, s.l.Name, "99.0.0", a.setup, nil), 1, "ADD with cniVersion 99.0.0"},
		{"error/no-command", secParams, []string{"CNI_COMMAND"}, good, 4, "no CNI_COMMAND"},
		{"error/no-containerid", secParams, []string{"CNI_CONTAINERID"}, good, 4, "ADD without CNI_CONTAINERID"},
		{"error/no-ifname", secParams, []string{"CNI_IFNAME"}, good, 4, "ADD without CNI_IFNAME"},
		{"error/no-netns", secParams, []string{"CNI_NETNS"}, good, 4, "ADD without CNI_NETNS"},
		{"error/malformed-json", secDecode, nil, good[:len(good)/2], 6, "ADD with half a JSON object"},
		{"error/no-name", secName, nil, s.l.conf(i, s.l.Name, s.l.CNIVersion, a.setup, map[string]any{"name": nil}), 0, "ADD of a config without name"},
	}
	for _, c := range cases {
		row := s.label(c.row, i)
		before, _ := nsutil.Take(a.pod.name)
		cmd := "ADD"
		if slices.Contains(c.omit, "CNI_COMMAND") {
			cmd = ""
		}
		o := s.r.run(&call{plugin: i, command: cmd, containerID: a.id, netns: a.pod.path, ifName: s.ifName, args: s.t.Args,
			stdin: c.stdin, omit: c.omit, why: c.what})
		if s.wantError(row, c.section, o, c.code, c.what) {
			if after, _ := nsutil.Take(a.pod.name); before.Changes(after) != "" {
				s.rep.Rows[len(s.rep.Rows)-1] = Row{row, c.section, Fail, "the refused call changed the pod: " + before.Changes(after)}
			}
		}
		if o.ok() {
			// It should have failed; undo what it did before the next case.
			s.call(a, "DEL", i, a.pod.path, good, "undo an ADD that should have failed")
		}
	}
}

// chainedChecks call each graded chained plugin without its prevResult.
func (s *suite) chainedChecks() {
	run, _ := s.perPlugin()
	n := 0
	for _, i := range run {
		if i == 0 {
			continue
		}
		n++
		row := s.label("chained/no-prev", i)
		a, err := s.prepareTo("noprev", s.l.CNIVersion, i)
		if err != nil {
			s.rep.add(row, secChain, Fail, "%v", err)
			continue
		}
		before, _ := nsutil.Take(a.pod.name)
		o := s.call(a, "ADD", i, a.pod.path, s.l.conf(i, s.l.Name, a.ver, nil, nil), "ADD without prevResult")
		if s.wantError(row, secChain, o, 0, "ADD without prevResult") {
			if after, _ := nsutil.Take(a.pod.name); before.Changes(after) != "" {
				s.rep.Rows[len(s.rep.Rows)-1] = Row{row, secChain, Fail, "the refused ADD changed the pod: " + before.Changes(after)}
			}
		}
		if strings.Contains(o.stderr, "panic:") {
			s.rep.Rows[len(s.rep.Rows)-1] = Row{row, secChain, Fail, "panicked: " + clip(o.stderr)}
		}
		s.teardown(a)
	}
	if n == 0 {
		s.rep.add("chained/no-prev", secChain, Skip, "no graded plugin is chained")
	}
}

func (s *suite) statusCheck() {
	if !s.supports("1.1.0") {
		s.rep.add("status", secStatus, Skip, "1.1.0 is not supported")
		return
	}
	var bad, good []string
	run, external := s.perPlugin()
	for _, t := range external {
		good = append(good, t+": graded in its own target")
	}
	for _, i := range run {
		o := s.r.run(&call{plugin: i, command: "STATUS", stdin: s.l.conf(i, s.l.Name, "1.1.0", nil, nil),
			omit: []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, why: "STATUS"})
		code, _, isErr := o.cniError()
		switch {
		case o.ok():
			good = append(good, s.l.Types[i]+": ready")
		case isErr && (code == 50 || code == 51):
			good = append(good, fmt.Sprintf("%s: code %d", s.l.Types[i], code))
		default:
			bad = append(bad, o.describe())
		}
	}
	s.row("status", secStatus, bad, "%s", strings.Join(good, "; "))
}

// gcCheck attaches A and B, sends GC naming only A, and expects A kept
// and whatever B left on the host removed.
func (s *suite) gcCheck() {
	const row = "gc"
	if !s.supports("1.1.0") {
		s.rep.add(row, secGC, Skip, "1.1.0 is not supported")
		return
	}
	a, err := s.attach("gc-a", "1.1.0")
	if err != nil {
		s.rep.add(row, secGC, Fail, "%v", err)
		return
	}
	defer s.teardown(a)
	// B's pod (and its set-up) exist before h0, so h0 to hb is B's ADD.
	b, err := s.prepare("gc-b", "1.1.0")
	if err != nil {
		s.rep.add(row, secGC, Fail, "%v", err)
		return
	}
	defer s.teardown(b)
	h0, err := nsutil.Take(s.sb.host)
	if err != nil {
		s.rep.add(row, secGC, Fail, "%v", err)
		return
	}
	if o := s.add(b, "ADD"); o != nil {
		s.rep.add(row, secGC, Fail, "ADD: %s", o.describe())
		return
	}
	hb, _ := nsutil.Take(s.sb.host)
	pa, _ := nsutil.Take(a.pod.name)
	valid := []map[string]string{{"containerID": a.id, "ifname": s.ifName}}
	var bad []string
	for i := 0; i < s.to; i++ {
		o := s.r.run(&call{plugin: i, command: "GC", why: "GC",
			stdin: s.l.conf(i, s.l.Name, "1.1.0", nil, map[string]any{"cni.dev/valid-attachments": valid}),
			omit:  []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}})
		if !o.ok() {
			bad = append(bad, o.describe())
		}
	}
	if o := s.check(a, "CHECK of the valid attachment after GC"); o != nil {
		bad = append(bad, "the valid attachment fails CHECK after GC: "+o.describe())
	}
	if after, _ := nsutil.Take(a.pod.name); pa.Changes(after) != "" {
		bad = append(bad, "GC changed the valid attachment's pod: "+pa.Changes(after))
	}
	held := h0.Rules().Diff(hb.Rules()) != ""
	h1, _ := nsutil.Take(s.sb.host)
	if held && h0.Rules().Changes(h1.Rules()) != "" {
		bad = append(bad, "the stale attachment's host state outlived GC: "+h0.Rules().Changes(h1.Rules()))
	}
	note := "the stale attachment held nothing on the host"
	if held {
		note = "the stale attachment's host state is gone"
	}
	s.row(row, secGC, bad, "GC succeeds, the valid attachment still passes CHECK, %s", note)
}

func (s *suite) hygieneChecks(before, after nsutil.Snapshot) {
	var junk, format, panics []string
	slowest := &outcome{}
	var hung []string
	for _, o := range s.r.outcomes {
		if o.took > slowest.took {
			slowest = o
		}
		if o.timedOut {
			hung = append(hung, o.describe()+" ("+o.call.why+")")
			continue
		}
		label := fmt.Sprintf("%s %s (%s)", o.typ, o.call.command, o.call.why)
		if strings.Contains(o.stderr, "panic:") && strings.Contains(o.stderr, "goroutine ") {
			panics = append(panics, label)
		}
		code, msg, isErr := o.cniError()
		switch {
		case o.exit != 0:
			if !isErr || code == 0 || msg == "" {
				format = append(format, fmt.Sprintf("%s: exit %d, stdout %q", label, o.exit, clip(o.stdout)))
			}
		case isErr && code != 0:
			format = append(format, label+": printed an error but exited 0")
		case o.call.command == "ADD" || o.call.command == "VERSION":
			var v map[string]any
			if err := strictOne([]byte(o.stdout), &v); err != nil {
				junk = append(junk, fmt.Sprintf("%s: %v: %q", label, err, clip(o.stdout)))
			}
		default:
			if strings.TrimSpace(o.stdout) != "" {
				junk = append(junk, fmt.Sprintf("%s printed %q; this command has no result", label, clip(o.stdout)))
			}
		}
	}
	n := len(s.r.outcomes)
	s.row("hygiene/stdout", secStdout, firstFew(junk), "all %d calls printed only their result (or nothing) on stdout", n)
	s.row("error/format", secErrors, firstFew(format), "every failed call exited non-zero with a JSON error holding code and msg")
	s.row("hygiene/no-panic", secErrors, firstFew(panics), "no call panicked")
	s.row("hygiene/time", secStdout, firstFew(hung), "no call hung; the slowest took %v (%s %s), bound %v",
		slowest.took.Round(1e6), slowest.typ, cmdOf(slowest), s.r.timeout)
	if d := before.Rules().Changes(after.Rules()); d != "" {
		s.rep.add("hygiene/host", secHost, Fail, "the host namespace differs after the run: %s", d)
	} else if d := before.Changes(after); d != "" {
		s.rep.add("hygiene/host", secHost, Pass, "links, addresses, routes and rules unchanged; empty chains left behind: %s", d)
	} else {
		s.rep.add("hygiene/host", secHost, Pass, "the host namespace (links, addresses, routes, rules, iptables) is as before the run")
	}
}

func cmdOf(o *outcome) string {
	if o.call == nil {
		return ""
	}
	return o.call.command
}

func firstFew(xs []string) []string {
	if len(xs) > 3 {
		return append(xs[:3:3], fmt.Sprintf("and %d more", len(xs)-3))
	}
	return xs
}

// row adds a PASS row, or a FAIL row listing what is wrong.
func (s *suite) row(check, section string, bad []string, passFormat string, args ...any) {
	if len(bad) > 0 {
		s.rep.add(check, section, Fail, "%s", strings.Join(bad, "; "))
		return
	}
	s.rep.add(check, section, Pass, passFormat, args...)
}

func lenIf(r *rawResult) int {
	if r == nil {
		return 0
	}
	return len(r.Interfaces)
}

func lenIPs(r *rawResult) int {
	if r == nil {
		return 0
	}
	return len(r.IPs)
}

func lenRoutes(r *rawResult) int {
	if r == nil {
		return 0
	}
	return len(r.Routes)
}

func countIn(r *rawResult, netns string) int {
	n := 0
	for _, i := range r.Interfaces {
		if i.Sandbox == netns {
			n++
		}
	}
	return n
}
