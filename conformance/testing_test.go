package conformance

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// Test's judgement of known failures: one that fails is logged, one
// that passes fails, one that was skipped cannot be judged and skips
// (every check is, when the kernel lacks what the target requires), and
// one naming no check of the suite fails whether or not the run skipped.
func TestJudgeKnownFailures(t *testing.T) {
	full := &Report{Target: "full", Rows: []Row{
		{Check: "add/result 1.1.0", Status: Pass},
		{Check: "del/twice", Status: Fail},
		{Check: "delegate/same-config", Status: Fail},
		{Check: "version/echo", Status: Pass},
		{Check: "status", Status: Skip},
		{Check: "gc", Status: Skip},
		{Check: "check/owned: route", Status: Pass},
	}}
	skipped := &Report{Target: "skipped", Rows: []Row{
		{Check: "requires/ipvlan", Section: "-", Status: Skip, Why: "this kernel has no ipvlan: every check skipped"},
	}}
	for _, c := range []struct {
		name  string
		rep   *Report
		known []string
		want  map[string]Status
	}{
		{"full run", full, []string{"delegate/same-config", "version/echo", "status"}, map[string]Status{
			"add/result 1.1.0":     Pass,
			"del/twice":            Fail, // not known
			"delegate/same-config": Pass, // known, and it fails
			"version/echo":         Fail, // known, and it passes
			"status":               Skip, // known, not judged
			"gc":                   Skip,
			"check/owned: route":   Pass,
		}},
		{"full run, known failures it lacks", full, []string{"check/owned: other", "delegate/same-confg", "error/no-command egress-route"},
			map[string]Status{
				"add/result 1.1.0":              Pass,
				"del/twice":                     Fail,
				"delegate/same-config":          Fail, // not known this time
				"version/echo":                  Pass,
				"status":                        Skip,
				"gc":                            Skip,
				"check/owned: route":            Pass,
				"check/owned: other":            Fail, // a check, not of this target
				"delegate/same-confg":           Fail, // no check at all
				"error/no-command egress-route": Fail, // one graded plugin: no per-plugin rows
			}},
		{"every check skipped", skipped, []string{"delegate/same-config", "add/result 1.0.0", "check/owned: host tbf qdiscs",
			"error/no-command egress-route", "gc"}, map[string]Status{
			"requires/ipvlan":               Skip,
			"delegate/same-config":          Skip,
			"add/result 1.0.0":              Skip,
			"check/owned: host tbf qdiscs":  Skip,
			"error/no-command egress-route": Skip,
			"gc":                            Skip,
		}},
		{"every check skipped, known failures of no check", skipped, []string{"delegate/same-confg", "add/result 9.9.9", "gc egress-route",
			"requires/ipvlan2"}, map[string]Status{
			"requires/ipvlan":     Skip,
			"delegate/same-confg": Fail,
			"add/result 9.9.9":    Fail,
			"gc egress-route":     Fail, // gc is one check, not one per plugin
			"requires/ipvlan2":    Fail,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			known := map[string]string{}
			for _, k := range c.known {
				known[k] = "why " + k
			}
			got := map[string]Status{}
			for _, v := range judge(c.rep, known) {
				if _, dup := got[v.check]; dup {
					t.Errorf("%s judged twice", v.check)
				}
				got[v.check] = v.status
				if why, ok := known[v.check]; ok && !strings.Contains(v.msg, why) {
					t.Errorf("%s: %q does not say why it is known (%q)", v.check, v.msg, why)
				}
			}
			if !maps.Equal(got, c.want) {
				for _, k := range slices.Sorted(maps.Keys(c.want)) {
					if got[k] != c.want[k] {
						t.Errorf("%s: %q, want %q", k, got[k], c.want[k])
					}
				}
				for k := range got {
					if _, ok := c.want[k]; !ok {
						t.Errorf("%s: %q, want no verdict", k, got[k])
					}
				}
			}
		})
	}
}

// rowsAreChecks fails t for a row of rep that checkNames does not know:
// Test could not tell a known failure of that check from a typo on a
// run that skipped it.
func rowsAreChecks(t *testing.T, rep *Report) {
	t.Helper()
	for _, r := range rep.Rows {
		if !strings.HasPrefix(r.Check, requiresPrefix) && !isCheck(r.Check) {
			t.Errorf("row %q is not in checkNames (checknames.go)", r.Check)
		}
	}
}
