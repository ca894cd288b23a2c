package conformance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/egress-router/egress-router/chain/nsutil"
)

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
	a, err := s.prepareTo("errors", s.l.CNIVersion, i, s.l)
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
		a, err := s.prepareTo("noprev", s.l.CNIVersion, i, s.l)
		if err != nil {
			s.rep.add(row, secChain, Fail, "%v", err)
			continue
		}
		before, _ := nsutil.Take(a.pod.name)
		o := s.call(a, "ADD", i, a.pod.path, s.l.conf(i, s.l.Name, a.ver, nil, nil), "ADD without prevResult")
		s.wantRefused(row, secChain, a, before, o, 0, "ADD without prevResult")
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
	b, err := s.prepareTo("gc-b", "1.1.0", s.from, s.second)
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
