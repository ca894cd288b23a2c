package conformance

import (
	"bytes"
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
// runs targets concurrently grades them first).
func testReport(t *testing.T, rep *Report, known map[string]string) {
	t.Helper()
	for _, r := range rep.Rows {
		t.Run(r.Check, func(t *testing.T) {
			why, isKnown := known[r.Check]
			switch {
			case r.Status == Fail && isKnown:
				t.Logf("FAIL, known (%s): %s: %s", why, r.Section, r.Why)
			case r.Status == Fail:
				t.Errorf("%s: %s", r.Section, r.Why)
			case isKnown:
				t.Errorf("%s, listed as a known failure (%s): %s", r.Status, why, r.Why)
			case r.Status == Skip:
				t.Skipf("%s: %s", r.Section, r.Why)
			default:
				t.Logf("%s: %s", r.Section, r.Why)
			}
		})
	}
	for check := range known {
		if _, ok := rep.Row(check); !ok {
			t.Errorf("known failure %q is not a check of this run", check)
		}
	}
	if t.Failed() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Logf("\n%s", b.String())
	}
}
