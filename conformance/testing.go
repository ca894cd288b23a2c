package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Test grades tg from a go test, as a plugin's own CI would run it: each
// check becomes a subtest named after it, which fails on FAIL and skips
// on SKIP, with the reason. A suite that cannot run at all (not root, a
// plugin missing from CNIPath) fails t.
//
// known lists the checks expected to FAIL, each with why (an upstream
// plugin's violation a target cannot avoid, say): they are logged, not
// failed, and a known check that passes fails, so the list stays true.
// A known check that was skipped (every check is, when the kernel lacks
// a link kind the target requires) cannot be judged and skips; one that
// names no check of the suite, or one this run should have had but did
// not, fails.
func Test(t *testing.T, tg *Target, known map[string]string) *Report {
	t.Helper()
	rep, err := Run(tg)
	if err != nil {
		t.Fatalf("conformance suite: %v", err)
	}
	testReport(t, rep, known)
	return rep
}

// testReport is Test's judgement of a report already made (a test that
// runs targets concurrently grades them first): a subtest per verdict.
func testReport(t *testing.T, rep *Report, known map[string]string) {
	t.Helper()
	for _, v := range judge(rep, known) {
		t.Run(v.check, func(t *testing.T) {
			switch v.status {
			case Fail:
				t.Error(v.msg)
			case Skip:
				t.Skip(v.msg)
			default:
				t.Log(v.msg)
			}
		})
	}
	if t.Failed() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Logf("\n%s", b.String())
	}
}

// verdict is Test's judgement of one check: Pass is logged, Fail fails
// and Skip skips, with msg.
type verdict struct {
	check  string
	status Status
	msg    string
}

// judge gives a verdict on each row of rep, then on each known failure
// the report has no row for.
func judge(rep *Report, known map[string]string) []verdict {
	var out []verdict
	for _, r := range rep.Rows {
		why, isKnown := known[r.Check]
		v := verdict{check: r.Check, status: Pass, msg: fmt.Sprintf("%s: %s", r.Section, r.Why)}
		switch {
		case r.Status == Fail && isKnown:
			v.msg = fmt.Sprintf("FAIL, known (%s): %s: %s", why, r.Section, r.Why)
		case r.Status == Fail:
			v.status = Fail
		case r.Status == Skip && isKnown:
			// It did not run, so it cannot show the failure is gone.
			v.status, v.msg = Skip, fmt.Sprintf("known failure (%s) not judged: skipped: %s: %s", why, r.Section, r.Why)
		case isKnown:
			v.status, v.msg = Fail, fmt.Sprintf("%s, listed as a known failure (%s): %s", r.Status, why, r.Why)
		case r.Status == Skip:
			v.status = Skip
		}
		out = append(out, v)
	}
	cutShort := ""
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Check, requiresPrefix) && r.Status == Skip {
			cutShort = r.Check + ": " + r.Why
		}
	}
	var absent []string
	for check := range known {
		if _, ok := rep.Row(check); !ok {
			absent = append(absent, check)
		}
	}
	slices.Sort(absent)
	for _, check := range absent {
		why := known[check]
		switch {
		case !isCheck(check):
			out = append(out, verdict{check, Fail, fmt.Sprintf("known failure %q (%s) names no check of the suite", check, why)})
		case cutShort != "":
			out = append(out, verdict{check, Skip, fmt.Sprintf("known failure (%s) not judged: %s", why, cutShort)})
		default:
			out = append(out, verdict{check, Fail, fmt.Sprintf("known failure %q (%s) is not a check of this run", check, why)})
		}
	}
	return out
}
