package conformance

import (
	"fmt"
	"strings"

	"github.com/egress-router/egress-router/chain/nsutil"
)

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
