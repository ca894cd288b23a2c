package main

import (
	"testing"
	"time"
)

// The ratio of two paths is taken round by round: a machine that drifts
// between rounds moves both paths of a round alike, and the ratio of the
// medians would carry the drift.
func TestRoundRatio(t *testing.T) {
	gbits := func(r dpResult) float64 { return r.gbits }
	rounds := func(xs ...float64) []dpResult {
		var rs []dpResult
		for _, x := range xs {
			rs = append(rs, dpResult{gbits: x})
		}
		return rs
	}
	// The router at 0.9x of direct, the machine twice as fast from the
	// middle of round 3 on: the medians' ratio would be 1.8.
	direct := rounds(10, 10, 10, 20, 20)
	router := rounds(9, 9, 18, 18, 18)
	if got := roundRatio(router, direct, gbits); got < 0.899 || got > 0.901 {
		t.Errorf("roundRatio = %.3f, want 0.9", got)
	}
	// A round the base could not measure is left out, not divided by.
	if got := roundRatio(rounds(9, 5), rounds(10, 0), gbits); got < 0.899 || got > 0.901 {
		t.Errorf("roundRatio with an empty base round = %.3f, want 0.9", got)
	}
	m := medianResult([]dpResult{{gbits: 3, p50: 3 * time.Microsecond}, {gbits: 1, p50: time.Microsecond}, {gbits: 2, p50: 2 * time.Microsecond}})
	if m.gbits != 2 || m.p50 != 2*time.Microsecond {
		t.Errorf("medianResult = %+v, want gbits 2 and p50 2µs", m)
	}
}
