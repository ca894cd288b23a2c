package nstest

import (
	"testing"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// Snapshot is a namespace's network state (see nsutil.Snapshot), with
// test helpers.
type Snapshot nsutil.Snapshot

// Take snapshots the namespace netns ("" = the namespace the test runs in).
func Take(netns string) (Snapshot, error) {
	s, err := nsutil.Take(netns)
	return Snapshot(s), err
}

// Diff describes what differs between two snapshots ("" when equal).
func (s Snapshot) Diff(after Snapshot) string { return nsutil.Snapshot(s).Diff(nsutil.Snapshot(after)) }

// MustTake snapshots a namespace or fails the test.
func MustTake(t testing.TB, netns string) Snapshot {
	t.Helper()
	s, err := Take(netns)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Unchanged fails the test when the namespace differs from before.
func (s Snapshot) Unchanged(t testing.TB, netns, when string) {
	t.Helper()
	if d := s.Diff(MustTake(t, netns)); d != "" {
		t.Errorf("%s changed %s:\n%s", netns, when, d)
	}
}
