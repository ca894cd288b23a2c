// Package e2e holds the end-to-end tests of the egress chain: the real
// upstream macvlan and static plugins followed by egress-route and
// egress-nat, run through libcni and through cnitool in the test network
// of chain/nstest, with real traffic. The package has no non-test code.
package e2e
