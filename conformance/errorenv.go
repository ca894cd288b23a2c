package conformance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/egress-router/egress-router/chain/nsutil"
)

const (
	secUnknownCmd = "§2 Parameters (CNI_COMMAND), §5 Error (code 4)"
	secEnvNames   = "§5 Error (code 4: names the variables)"
	secCodes      = "§5 Error (reserved codes)"
)

// commands are the values of CNI_COMMAND the spec defines.
var commands = []string{"ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"}

// unknownCommand sends each graded plugin a CNI_COMMAND the spec does not
// define, with a good config, after the plugins before it ran: it must
// fail with code 4 and leave the pod alone.
func (s *suite) unknownCommand() {
	run, external := s.perPlugin()
	if len(external) > 0 && len(run) == 0 {
		s.rep.add("error/unknown-command", secUnknownCmd, Skip, "%s: graded in a target of their own", strings.Join(external, ", "))
		return
	}
	for _, i := range run {
		row := s.label("error/unknown-command", i)
		a, err := s.prepareTo("unknown", s.l.CNIVersion, i, s.l)
		if err != nil {
			s.rep.add(row, secUnknownCmd, Fail, "%v", err)
			continue
		}
		before, _ := nsutil.Take(a.pod.name)
		o := s.call(a, "FROB", i, a.pod.path, s.l.conf(i, s.l.Name, s.l.CNIVersion, a.setup, nil), "unknown CNI_COMMAND")
		s.wantRefused(row, secUnknownCmd, a, before, o, 4, "CNI_COMMAND=FROB")
		s.teardown(a)
	}
}

// envErrorNames reads every call of the run so far that left out a
// variable, or set CNI_COMMAND to one the spec does not define, and was
// refused with code 4: the error must name each such variable.
func (s *suite) envErrorNames() {
	const row = "error/names-variable"
	var bad []string
	n := 0
	for _, o := range s.r.outcomes {
		code, msg, ok := o.cniError()
		if !ok || code != 4 {
			continue
		}
		invalid := slices.Clone(o.call.omit)
		if !slices.Contains(commands, o.call.command) && !slices.Contains(invalid, "CNI_COMMAND") {
			invalid = append(invalid, "CNI_COMMAND")
		}
		if len(invalid) == 0 {
			continue
		}
		n++
		text := msg + " " + errorDetails(o)
		for _, v := range invalid {
			if !strings.Contains(text, v) {
				bad = append(bad, fmt.Sprintf("%s %s (%s): code 4 %q does not name %s", o.typ, o.call.command, o.call.why, msg, v))
			}
		}
	}
	if n == 0 {
		s.rep.add(row, secEnvNames, Skip, "no call was refused with code 4 for a missing or unknown variable")
		return
	}
	s.row(row, secEnvNames, firstFew(bad), "all %d code-4 errors for a missing or invalid variable name it", n)
}

// errorDetails is the details field of the CNI error o printed, if any.
func errorDetails(o *outcome) string {
	var e struct {
		Details string `json:"details"`
	}
	if strictOne([]byte(o.stdout), &e) != nil {
		return ""
	}
	return e.Details
}

// wellKnown are the error codes below 100 the spec assigns.
var wellKnown = []uint{1, 2, 3, 4, 5, 6, 7, 11, 50, 51}

// errorCodes reads every error the run's calls printed: a code below 100
// must be one the spec assigns; a plugin's own errors use 100 and up.
func (s *suite) errorCodes() {
	const row = "error/codes"
	var bad []string
	n := 0
	for _, o := range s.r.outcomes {
		code, msg, ok := o.cniError()
		if !ok || o.exit == 0 || code == 0 {
			continue // error/format grades those
		}
		n++
		if code < 100 && !slices.Contains(wellKnown, code) {
			bad = append(bad, fmt.Sprintf("%s %s (%s): code %d (%s) is reserved and unassigned", o.typ, o.call.command, o.call.why, code, msg))
		}
	}
	if n == 0 {
		s.rep.add(row, secCodes, Skip, "no call printed an error")
		return
	}
	s.row(row, secCodes, firstFew(bad), "all %d errors use a code the spec assigns, or one from 100 up", n)
}
