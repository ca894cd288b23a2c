package conformance

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/egress-router/egress-router/chain/nsutil"
)

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
			return "", skipBecause(fmt.Sprintf("the result has no address on %q", s.ifName))
		}}, tamper{"check/interface-removed", func(a *attachment, _ *rawResult) (string, error) {
			if s.ifName == "lo" {
				return "", skipBecause("the kernel does not delete a namespace's lo")
			}
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
			cmd.Env = append(s.env(), "CNI_IFNAME="+s.ifName, "CNI_NETNS="+a.pod.path, "CNI_CONTAINERID="+a.id)
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("%q: %w: %s", res.Remove, err, out)
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
		var skip skipBecause
		switch {
		case errors.As(err, &skip):
			s.rep.add(t.row, secCheck, Skip, "%s", skip)
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

// skipBecause is a tamper that does not apply, and why.
type skipBecause string

func (s skipBecause) Error() string { return string(s) }

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
