package conformance

import (
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/egress-router/egress-router/chain/nsutil"
)

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
	if err := nsutil.IP(a.pod.name, "link show "+s.ifName); err == nil {
		s.rep.add(row, secAddIf, Skip, "every new namespace has %q: ADD cannot be asked to make it", s.ifName)
		return
	}
	if err := nsutil.IP(a.pod.name, "link add "+s.ifName+" type veth peer name cnc-peer", "link set "+s.ifName+" up"); err != nil {
		s.rep.add(row, secAddIf, Fail, "%v", err)
		return
	}
	// Its peer stays down, and the kernel marks it NO-CARRIER shortly
	// after (linkwatch runs later, up to a second on a slow machine): the
	// snapshot waits for that, so the change is not blamed on the ADD.
	for i := 0; i < 50; i++ {
		if out, _ := exec.Command("ip", "-n", a.pod.name, "link", "show", s.ifName).Output(); strings.Contains(string(out), "NO-CARRIER") {
			break
		}
		time.Sleep(50 * time.Millisecond)
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
