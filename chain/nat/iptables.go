package nat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

const natTable = "nat"

// xtablesWait bounds how long a rule change waits for the xtables lock,
// so a stuck lock holder fails the ADD instead of hanging it.
const xtablesWait = 30

func newIPT(f Family) (*iptables.IPTables, error) {
	proto := iptables.ProtocolIPv4
	if f == 6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(xtablesWait))
	if err != nil {
		return nil, fmt.Errorf("IPv%d iptables is not usable: %v", f, err)
	}
	return ipt, nil
}

// Apply installs the rulesets in the current (pod) netns. It is idempotent:
// our chains are flushed and refilled, jumps are added once. For the
// families in markForwarding it records that forwarding was off (see
// ForwardingMarker). On failure everything it installed is removed again.
func Apply(sets []Ruleset, markForwarding []Family) (err error) {
	var done []Ruleset
	defer func() {
		if err != nil {
			for _, rs := range done {
				_ = removeFamily(rs.Family, rs.DNATChain, rs.SNATChain)
			}
		}
	}()
	for _, rs := range sets {
		ipt, err := newIPT(rs.Family)
		if err != nil {
			return err
		}
		done = append(done, rs)
		if err := fill(ipt, rs.DNATChain, rs.DNAT); err != nil {
			return err
		}
		if err := fill(ipt, rs.SNATChain, rs.SNAT); err != nil {
			return err
		}
		for _, f := range markForwarding {
			if f == rs.Family {
				if err := ipt.ClearChain(natTable, ForwardingMarker); err != nil {
					return fmt.Errorf("failed to create chain %s: %v", ForwardingMarker, err)
				}
			}
		}
		for _, j := range []struct {
			chain string
			spec  []string
		}{{"PREROUTING", rs.PreJump}, {"POSTROUTING", rs.PostJump}} {
			if err := ipt.InsertUnique(natTable, j.chain, 1, j.spec...); err != nil {
				return fmt.Errorf("failed to add %q to IPv%d nat %s: %v", joinSpec(j.spec), rs.Family, j.chain, err)
			}
		}
	}
	return nil
}

func fill(ipt *iptables.IPTables, chain string, rules [][]string) error {
	if err := ipt.ClearChain(natTable, chain); err != nil {
		return fmt.Errorf("failed to create chain %s: %v", chain, err)
	}
	for _, r := range rules {
		if err := ipt.Append(natTable, chain, r...); err != nil {
			return fmt.Errorf("failed to add rule %q to %s: %v", joinSpec(r), chain, err)
		}
	}
	return nil
}

// Check verifies that the rulesets are installed exactly: our chains hold
// exactly the expected rules in order, and the jumps are in place.
func Check(sets []Ruleset) error {
	for _, rs := range sets {
		ipt, err := newIPT(rs.Family)
		if err != nil {
			return err
		}
		for _, c := range []struct {
			chain string
			rules [][]string
		}{{rs.DNATChain, rs.DNAT}, {rs.SNATChain, rs.SNAT}} {
			if err := checkChain(ipt, rs.Family, c.chain, c.rules); err != nil {
				return err
			}
		}
		for _, j := range []struct {
			chain string
			spec  []string
		}{{"PREROUTING", rs.PreJump}, {"POSTROUTING", rs.PostJump}} {
			ok, err := ipt.Exists(natTable, j.chain, j.spec...)
			if err != nil {
				return fmt.Errorf("failed to look for %q in IPv%d nat %s: %v", joinSpec(j.spec), rs.Family, j.chain, err)
			}
			if !ok {
				return fmt.Errorf("IPv%d nat %s lacks the jump %q", rs.Family, j.chain, joinSpec(j.spec))
			}
		}
		on, err := ForwardingEnabled(rs.Family)
		if err != nil {
			return fmt.Errorf("failed to read IPv%d forwarding: %v", rs.Family, err)
		}
		if !on {
			return fmt.Errorf("IPv%d forwarding is off in the pod (%s)", rs.Family, forwardingSysctl(rs.Family))
		}
	}
	return nil
}

func checkChain(ipt *iptables.IPTables, f Family, chain string, rules [][]string) error {
	exists, err := ipt.ChainExists(natTable, chain)
	if err != nil {
		return fmt.Errorf("failed to look for IPv%d nat chain %s: %v", f, chain, err)
	}
	if !exists {
		return fmt.Errorf("IPv%d nat chain %s is missing", f, chain)
	}
	got, err := ipt.List(natTable, chain)
	if err != nil {
		return fmt.Errorf("failed to list IPv%d nat chain %s: %v", f, chain, err)
	}
	want := []string{"-N " + chain}
	for _, r := range rules {
		want = append(want, "-A "+chain+" "+joinSpec(r))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		return fmt.Errorf("IPv%d nat chain %s differs: want %q, have %q", f, chain, want, got)
	}
	return nil
}

// Remove deletes an egress interface's chains and jumps in the current
// (pod) netns, for both families. Missing pieces are fine; a family whose
// iptables is not usable is skipped (nothing of ours can be there).
func Remove(egressIf string) error {
	dnat, snat := ChainNames(egressIf)
	var errs []error
	for _, f := range []Family{4, 6} {
		if err := removeFamily(f, dnat, snat); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeFamily(f Family, dnat, snat string) error {
	ipt, err := newIPT(f)
	if err != nil {
		return nil
	}
	var errs []error
	for _, c := range []struct{ base, ours string }{{"PREROUTING", dnat}, {"POSTROUTING", snat}} {
		rules, err := ipt.List(natTable, c.base)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to list IPv%d nat %s: %v", f, c.base, err))
			continue
		}
		// Delete every jump to our chain, whatever its matches, so a
		// changed clusterInterface cannot strand one.
		for _, line := range rules {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[0] != "-A" || fields[len(fields)-1] != c.ours || fields[len(fields)-2] != "-j" {
				continue
			}
			if err := ipt.DeleteIfExists(natTable, c.base, fields[2:]...); err != nil {
				errs = append(errs, fmt.Errorf("failed to delete %q: %v", line, err))
			}
		}
		exists, err := ipt.ChainExists(natTable, c.ours)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to look for IPv%d nat chain %s: %v", f, c.ours, err))
			continue
		}
		if exists {
			if err := ipt.ClearAndDeleteChain(natTable, c.ours); err != nil {
				errs = append(errs, fmt.Errorf("failed to delete IPv%d nat chain %s: %v", f, c.ours, err))
			}
		}
	}
	if len(errs) == 0 {
		if err := releaseForwarding(ipt, f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// releaseForwarding turns forwarding off again when no egress attachment
// is left in the pod and one of them had turned it on.
func releaseForwarding(ipt *iptables.IPTables, f Family) error {
	chains, err := ipt.ListChains(natTable)
	if err != nil {
		return fmt.Errorf("failed to list IPv%d nat chains: %v", f, err)
	}
	marked := false
	for _, c := range chains {
		if strings.HasPrefix(c, "EGRESS-DNAT-") {
			return nil // another attachment still forwards
		}
		marked = marked || c == ForwardingMarker
	}
	if !marked {
		return nil
	}
	if err := disableForwarding(f); err != nil {
		return fmt.Errorf("failed to turn IPv%d forwarding back off: %v", f, err)
	}
	if err := ipt.DeleteChain(natTable, ForwardingMarker); err != nil {
		return fmt.Errorf("failed to delete chain %s: %v", ForwardingMarker, err)
	}
	return nil
}

// Available reports whether IPv4 iptables can be run, for STATUS.
func Available() (string, error) {
	if _, err := newIPT(4); err != nil {
		return "", err
	}
	return "iptables", nil
}
