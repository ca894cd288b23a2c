package nat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/egress-router/egress-router/chain/netx"
)

// The iptables form of a ruleset: two chains of the nat table per
// attachment, named after the egress interface and entered by one jump
// each from PREROUTING and POSTROUTING. Everything here is pure: it turns
// rulesets into iptables-restore payloads and reads iptables-save output.

// iptMarker is an empty nat chain recording, inside the pod, that an
// egress attachment turned forwarding on (see enableForwarding).
const iptMarker = "EGRESS-FORWARDING-WAS-OFF"

// chainNames returns the DNAT and SNAT chain names of an egress interface.
// Interface names are at most 15 bytes, so the names fit iptables' 28.
func chainNames(egressIf string) (dnat, snat string) {
	return "EGRESS-DNAT-" + egressIf, "EGRESS-SNAT-" + egressIf
}

// iptRules is a ruleset as iptables rule specs, in `iptables -S` form.
type iptRules struct {
	dnatChain, snatChain string
	dnat, snat           [][]string
	jumps                []iptJump
}

// iptJump enters one of our chains from a built-in one.
type iptJump struct {
	chain string
	spec  []string
}

func iptablesRules(rs Ruleset) iptRules {
	dnat, snat := chainNames(rs.Egress)
	r := iptRules{dnatChain: dnat, snatChain: snat,
		snat: [][]string{{"-j", "SNAT", "--to-source", rs.Source.String()}},
		jumps: []iptJump{
			{"PREROUTING", []string{"-i", rs.Cluster, "-j", dnat}},
			{"POSTROUTING", []string{"-o", rs.Egress, "-j", snat}},
		}}
	for _, d := range rs.Rules {
		r.dnat = append(r.dnat, []string{"-p", d.Proto, "-m", d.Proto, "--dport", strconv.Itoa(d.Port),
			"-j", "DNAT", "--to-destination", hostPort(d.IP.String(), d.RemotePort, rs.Family)})
	}
	if rs.Fallback != nil {
		r.dnat = append(r.dnat, []string{"-j", "DNAT", "--to-destination", rs.Fallback.String()})
	}
	return r
}

// hostPort formats a DNAT target; IPv6 needs brackets around the address.
func hostPort(ip string, port int, f netx.Family) string {
	if f == netx.V6 {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

// IPTablesLines renders the ruleset as `iptables -t nat -S` lines, for
// dry runs, logs and CHECK messages.
func IPTablesLines(rs Ruleset) []string {
	r := iptablesRules(rs)
	var out []string
	for _, j := range r.jumps {
		out = append(out, "-A "+j.chain+" "+strings.Join(j.spec, " "))
	}
	for _, s := range r.dnat {
		out = append(out, "-A "+r.dnatChain+" "+strings.Join(s, " "))
	}
	for _, s := range r.snat {
		out = append(out, "-A "+r.snatChain+" "+strings.Join(s, " "))
	}
	return out
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
		case strings.HasPrefix(l, ":") && len(l) > 1:
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

// applyLines is the iptables-restore --noflush payload (inside *nat …
// COMMIT) that installs a ruleset over what the pod has: our chains are
// declared (which flushes them) and refilled, the jumps added once.
func applyLines(have saved, rs Ruleset, markForwarding bool) []string {
	r := iptablesRules(rs)
	lines := []string{":" + r.dnatChain + " - [0:0]", ":" + r.snatChain + " - [0:0]"}
	if markForwarding {
		lines = append(lines, ":"+iptMarker+" - [0:0]")
	}
	for _, s := range r.dnat {
		lines = append(lines, "-A "+r.dnatChain+" "+strings.Join(s, " "))
	}
	for _, s := range r.snat {
		lines = append(lines, "-A "+r.snatChain+" "+strings.Join(s, " "))
	}
	for _, j := range r.jumps {
		if spec := strings.Join(j.spec, " "); !have.has(j.chain, spec) {
			lines = append(lines, "-I "+j.chain+" 1 "+spec)
		}
	}
	return lines
}

// checkSaved verifies that our chains hold exactly the ruleset's rules,
// in order, and that the jumps are in place.
func checkSaved(have saved, rs Ruleset) error {
	r := iptablesRules(rs)
	for _, c := range []struct {
		chain string
		rules [][]string
	}{{r.dnatChain, r.dnat}, {r.snatChain, r.snat}} {
		if !have.chains[c.chain] {
			return fmt.Errorf("IPv%d nat chain %s is missing", rs.Family, c.chain)
		}
		want, got := []string{"-N " + c.chain}, []string{"-N " + c.chain}
		for _, s := range c.rules {
			want = append(want, "-A "+c.chain+" "+strings.Join(s, " "))
		}
		for _, s := range have.rules[c.chain] {
			got = append(got, "-A "+c.chain+" "+s)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("IPv%d nat chain %s differs: want %q, have %q", rs.Family, c.chain, want, got)
		}
	}
	for _, j := range r.jumps {
		if spec := strings.Join(j.spec, " "); !have.has(j.chain, spec) {
			return fmt.Errorf("IPv%d nat %s lacks the jump %q", rs.Family, j.chain, spec)
		}
	}
	return nil
}

// removeLines is the payload that deletes an egress interface's chains
// and every jump to them, whatever its matches (so a changed
// clusterInterface cannot strand one), and what the nat table holds
// besides.
func removeLines(have saved, egressIf string) (lines []string, h holding) {
	dnat, snat := chainNames(egressIf)
	for _, c := range []struct{ base, ours string }{{"PREROUTING", dnat}, {"POSTROUTING", snat}} {
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
		h.others = h.others || (strings.HasPrefix(c, "EGRESS-DNAT-") && c != dnat)
	}
	h.marker = have.chains[iptMarker]
	return lines, h
}
