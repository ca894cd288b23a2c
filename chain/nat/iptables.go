package nat

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
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

// ipSave returns `iptables-save -t nat` for a family in the current netns.
func ipSave(f Family) (string, error) {
	cmd := "iptables-save"
	if f == 6 {
		cmd = "ip6tables-save"
	}
	var out, errb bytes.Buffer
	c := exec.Command(cmd, "-t", natTable)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", cmd, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// ipRestore applies a nat table payload for a family in one transaction
// (iptables-restore --noflush), instead of one process per rule.
func ipRestore(f Family, lines []string) error {
	cmd := "iptables-restore"
	if f == 6 {
		cmd = "ip6tables-restore"
	}
	payload := "*" + natTable + "\n" + strings.Join(lines, "\n") + "\nCOMMIT\n"
	var errb bytes.Buffer
	c := exec.Command(cmd, "-w", strconv.Itoa(xtablesWait), "--noflush")
	c.Stdin, c.Stderr = strings.NewReader(payload), &errb
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", cmd, err, strings.TrimSpace(errb.String()))
	}
	return nil
}

// saved is a parsed `iptables-save -t nat`.
type saved struct {
	chains map[string]bool
	rules  map[string][]string // chain -> rule specs, in order
}

func parseSave(text string) saved {
	s := saved{chains: map[string]bool{}, rules: map[string][]string{}}
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, ":"):
			s.chains[strings.Fields(l[1:])[0]] = true
		case strings.HasPrefix(l, "-A "):
			chain, spec, _ := strings.Cut(l[3:], " ")
			s.rules[chain] = append(s.rules[chain], spec)
		}
	}
	return s
}

func (s saved) has(chain, spec string) bool {
	for _, r := range s.rules[chain] {
		if r == spec {
			return true
		}
	}
	return false
}

// Apply installs the rulesets in the current (pod) netns with iptables,
// one save and one restore per family. It is idempotent: our chains are
// flushed and refilled, jumps are added once. For the families in
// markForwarding it records that forwarding was off (see
// ForwardingMarker). On failure everything it installed is removed again.
func Apply(sets []Ruleset, markForwarding []Family) (err error) {
	var done []Ruleset
	defer func() {
		if err != nil {
			for _, rs := range done {
				// This ADD's marker goes too; the caller's restore()
				// puts the old forwarding values back.
				_, _ = removeFamily(rs.Family, rs.DNATChain, rs.SNATChain, false)
			}
		}
	}()
	for _, rs := range sets {
		text, err := ipSave(rs.Family)
		if err != nil {
			return fmt.Errorf("IPv%d iptables is not usable: %v", rs.Family, err)
		}
		have := parseSave(text)
		lines := []string{":" + rs.DNATChain + " - [0:0]", ":" + rs.SNATChain + " - [0:0]"}
		for _, f := range markForwarding {
			if f == rs.Family {
				lines = append(lines, ":"+ForwardingMarker+" - [0:0]")
			}
		}
		for _, r := range rs.DNAT {
			lines = append(lines, "-A "+rs.DNATChain+" "+joinSpec(r))
		}
		for _, r := range rs.SNAT {
			lines = append(lines, "-A "+rs.SNATChain+" "+joinSpec(r))
		}
		for _, j := range []struct {
			chain string
			spec  []string
		}{{"PREROUTING", rs.PreJump}, {"POSTROUTING", rs.PostJump}} {
			if !have.has(j.chain, joinSpec(j.spec)) {
				lines = append(lines, "-I "+j.chain+" 1 "+joinSpec(j.spec))
			}
		}
		done = append(done, rs)
		if err := ipRestore(rs.Family, lines); err != nil {
			return fmt.Errorf("failed to install the IPv%d nat rules: %v", rs.Family, err)
		}
	}
	return nil
}

// Check verifies that the rulesets are installed exactly: our chains hold
// exactly the expected rules in order, and the jumps are in place.
// (Forwarding is checked by CheckIn, for either backend.)
func Check(sets []Ruleset) error {
	for _, rs := range sets {
		text, err := ipSave(rs.Family)
		if err != nil {
			return fmt.Errorf("IPv%d iptables is not usable: %v", rs.Family, err)
		}
		have := parseSave(text)
		for _, c := range []struct {
			chain string
			rules [][]string
		}{{rs.DNATChain, rs.DNAT}, {rs.SNATChain, rs.SNAT}} {
			if !have.chains[c.chain] {
				return fmt.Errorf("IPv%d nat chain %s is missing", rs.Family, c.chain)
			}
			want, got := []string{"-N " + c.chain}, []string{"-N " + c.chain}
			for _, r := range c.rules {
				want = append(want, "-A "+c.chain+" "+joinSpec(r))
			}
			for _, r := range have.rules[c.chain] {
				got = append(got, "-A "+c.chain+" "+r)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				return fmt.Errorf("IPv%d nat chain %s differs: want %q, have %q", rs.Family, c.chain, want, got)
			}
		}
		for _, j := range []struct {
			chain string
			spec  []string
		}{{"PREROUTING", rs.PreJump}, {"POSTROUTING", rs.PostJump}} {
			if !have.has(j.chain, joinSpec(j.spec)) {
				return fmt.Errorf("IPv%d nat %s lacks the jump %q", rs.Family, j.chain, joinSpec(j.spec))
			}
		}
	}
	return nil
}

// removeFamily deletes an egress interface's chains and every jump to
// them from a family's nat table, in one iptables-restore. It reports
// whether another attachment's chains are still there. When none are,
// none live in nftables either (nftOthers) and the forwarding marker is
// present, it also drops the marker and turns forwarding back off.
func removeFamily(f Family, dnat, snat string, nftOthers bool) (others bool, err error) {
	text, err := ipSave(f)
	if err != nil {
		return false, nil // no usable iptables: nothing of ours can be there
	}
	have := parseSave(text)
	var lines []string
	for _, c := range []struct{ base, ours string }{{"PREROUTING", dnat}, {"POSTROUTING", snat}} {
		// Delete every jump to our chain, whatever its matches, so a
		// changed clusterInterface cannot strand one.
		for _, spec := range have.rules[c.base] {
			if strings.HasSuffix(spec, " -j "+c.ours) {
				lines = append(lines, "-D "+c.base+" "+spec)
			}
		}
	}
	for _, c := range []string{dnat, snat} {
		if have.chains[c] {
			lines = append(lines, "-F "+c, "-X "+c)
		}
	}
	for c := range have.chains {
		others = others || (strings.HasPrefix(c, "EGRESS-DNAT-") && c != dnat)
	}
	release := !others && !nftOthers && have.chains[ForwardingMarker]
	if release {
		lines = append(lines, "-X "+ForwardingMarker)
	}
	if len(lines) == 0 {
		return others, nil
	}
	if err := ipRestore(f, lines); err != nil {
		return others, fmt.Errorf("failed to remove the IPv%d nat rules: %v", f, err)
	}
	if release {
		if err := disableForwarding(f); err != nil {
			return others, fmt.Errorf("failed to turn IPv%d forwarding back off: %v", f, err)
		}
	}
	return others, nil
}

// Available reports which backend a pod would get and whether it can be
// used, for STATUS: nftables through netlink, iptables by running it.
func Available(backend string) (string, error) {
	nsf, err := threadNS()
	if err != nil {
		return "", err
	}
	defer nsf.Close()
	use := choose(backend, nftAvailable(int(nsf.Fd())) == nil)
	if use == NFTables {
		return use, nftAvailable(int(nsf.Fd()))
	}
	if _, err := newIPT(4); err != nil {
		return use, err
	}
	return use, nil
}
