package conformance

import (
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/policy"
)

// The suite passes on exactly the variables our plugins read.
func TestPassedOnAreOurVariables(t *testing.T) {
	if got, want := strings.Join(passedOn, " "), policy.PathEnv+" "+nat.BackendEnv; got != want {
		t.Errorf("passed on %q, the plugins read %q", got, want)
	}
}
