package nat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/egress-router/egress-router/chain/netx"
)

// The iptables form of a ruleset: per attachment, two chains of the nat
// table and one of the mangle table, named after the egress interface
// and entered by one jump each from the built-in chains. Everything here
// is pure: it turns rulesets into iptables-restore payloads and reads
// iptables-save output.

// iptMarker is an empty nat chain recording, inside the pod, that an
// egress attachment turned forwarding on (see enableForwarding).
const iptMarker = "EGRESS-FORWARDING-WAS-OFF"

// The tables our chains live in.
const (
	tableNAT    = "nat"
	tableMangle = "mangle"
)

// ChainNames returns the DNAT and SNAT chain names of an egress interface.
// Interface names are at most 15 bytes, so the names fit iptables' 28.
func chainNames(egressIf string) (dnat, snat string) {
	return "EGRESS-DNAT-" + egressIf, "EGRESS-SNAT-" + egressIf
}

// markChain names an egress interface's mangle chain (27 bytes at most).
func markChain(egressIf string) string { return "EGRESS-MARK-" + egressIf }

// iptChain is one of our chains with its rules, in `iptables -S` form.
type iptChain struct {
	table, name string
	rules       [][]string
}

// iptJump enters one of our chains from a built-in one.
type iptJump struct {
	table, chain string
	spec         []string
}

// iptRules is a ruleset in iptables form.
type iptRules struct {
	chains []iptChain
	jumps  []iptJump
}

func iptablesRules(rs Ruleset) iptRules {
	dnat, snat := chainNames(rs.Egress)
	mark := markChain(rs.Egress)
	bit := fmt.Sprintf("%#x/%#x", netx.ReplyMark, netx.ReplyMark)
	d := iptChain{table: tableNAT, name: dnat}
	for _, r := range rs.Rules {
		d.rules = append(d.rules, []string{"-p", r.Proto, "-m", r.Proto, "--dport", strconv.Itoa(r.Port),
			"-j", "DNAT", "--to-destination", hostPort(r.IP.String(), r.RemotePort, rs.Family)})
	}
	if rs.Fallback != nil {
		d.rules = append(d.rules, []string{"-j", "DNAT", "--to-destination", rs.Fallback.String()})
	}
	return iptRules{
		chains: []iptChain{d,
			{table: tableNAT, name: snat, rules: [][]string{{"-j", "SNAT", "--to-source", rs.Source.String()}}},
			// The reply path (see netx.ReplyMark): connections arriving on
			// the cluster interface are marked in conntrack, their replies
			// get the mark; original-direction packets never do.
			{table: tableMangle, name: mark, rules: [][]string{
				{"-i", rs.Cluster, "-m", "conntrack", "--ctstate", "NEW", "-j", "CONNMARK", "--set-xmark", bit},
				{"-m", "conntrack", "--ctdir", "REPLY", "-m", "connmark", "--mark", bit, "-j", "MARK", "--set-xmark", bit},
			}},
		},
		jumps: []iptJump{
			{tableNAT, "PREROUTING", []string{"-i", rs.Cluster, "-j", dnat}},
			{tableNAT, "POSTROUTING", []string{"-o", rs.Egress, "-j", snat}},
			{tableMangle, "PREROUTING", []string{"-j", mark}},
			{tableMangle, "OUTPUT", []string{"-j", mark}},
		},
	}
}

// hostPort formats a DNAT target; IPv6 needs brackets around the address.
func hostPort(ip string, port int, f netx.Family) string {
	if f == netx.V6 {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

// IPTablesLines renders the ruleset's nat table as `iptables -t nat -S`
// lines, for dry runs, logs and CHECK messages.
func IPTablesLines(rs Ruleset) []string { return iptLines(rs, tableNAT, "") }

// iptLines renders one table's part, each line prefixed.
func iptLines(rs Ruleset, table, prefix string) []string {
	r := iptablesRules(rs)
	var out []string
	for _, j := range r.jumps {
		if j.table == table {
			out = append(out, prefix+"-A "+j.chain+" "+strings.Join(j.spec, " "))
		}
	}
	for _, c := range r.chains {
		if c.table != table {
			continue
		}
		for _, s := range c.rules {
			out = append(out, prefix+"-A "+c.name+" "+strings.Join(s, " "))
		}
	}
	return out
}

// iptDescribe is the whole ruleset: the nat lines, then the mangle ones
// as `iptables -t mangle` arguments.
func iptDescribe(rs Ruleset) []string {
	return append(IPTablesLines(rs), iptLines(rs, tableMangle, "-t mangle ")...)
}

// saved is one table of a parsed iptables-save.
type saved struct {
	chains map[string]bool
	rules  map[string][]string // chain -> rule specs, in order
}

func (s saved) has(chain, spec string) bool {
	for _, r := range s.rules[chain] {
		if r == spec {
			return true
		}
	}
	return false
}

// tables is a parsed iptables-save, by table.
type tables map[string]saved

func (t tables) get(table string) saved {
	if s, ok := t[table]; ok {
		return s
	}
	return saved{chains: map[string]bool{}, rules: map[string][]string{}}
}

func parseSave(text string) tables {
	out := tables{}
	cur := saved{}
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			cur = saved{chains: map[string]bool{}, rules: map[string][]string{}}
			out[strings.TrimSpace(l[1:])] = cur
		case strings.HasPrefix(l, ":") && len(l) > 1 && cur.chains != nil:
			cur.chains[strings.Fields(l[1:])[0]] = true
		case strings.HasPrefix(l, "-A ") && cur.rules != nil:
			chain, spec, _ := strings.Cut(l[3:], " ")
			cur.rules[chain] = append(cur.rules[chain], spec)
		}
	}
	return out
}

// payload is an iptables-restore --noflush input, by table.
type payload map[string][]string

// text renders the payload, nat first.
func (p payload) text() string {
	var b strings.Builder
	for _, t := range []string{tableNAT, tableMangle} {
		if len(p[t]) > 0 {
			b.WriteString("*" + t + "\n" + strings.Join(p[t], "\n") + "\nCOMMIT\n")
		}
	}
	return b.String()
}

// applyLines is the payload that installs a ruleset over what the pod
// has: our chains are declared (which flushes them) and refilled, the
// jumps added once, the forwarding marker declared when asked.
func applyLines(have tables, rs Ruleset, markForwarding bool) payload {
	r := iptablesRules(rs)
	p := payload{}
	for _, c := range r.chains {
		p[c.table] = append(p[c.table], ":"+c.name+" - [0:0]")
	}
	if markForwarding {
		p[tableNAT] = append(p[tableNAT], ":"+iptMarker+" - [0:0]")
	}
	for _, c := range r.chains {
		for _, s := range c.rules {
			p[c.table] = append(p[c.table], "-A "+c.name+" "+strings.Join(s, " "))
		}
	}
	for _, j := range r.jumps {
		if spec := strings.Join(j.spec, " "); !have.get(j.table).has(j.chain, spec) {
			p[j.table] = append(p[j.table], "-I "+j.chain+" 1 "+spec)
		}
	}
	return p
}

// checkSaved verifies that our chains hold exactly the ruleset's rules,
// in order, and that the jumps are in place.
func checkSaved(have tables, rs Ruleset) error {
	r := iptablesRules(rs)
	for _, c := range r.chains {
		t := have.get(c.table)
		if !t.chains[c.name] {
			return fmt.Errorf("IPv%d %s chain %s is missing", rs.Family, c.table, c.name)
		}
		want, got := []string{"-N " + c.name}, []string{"-N " + c.name}
		for _, s := range c.rules {
			want = append(want, "-A "+c.name+" "+strings.Join(s, " "))
		}
		for _, s := range t.rules[c.name] {
			got = append(got, "-A "+c.name+" "+s)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("IPv%d %s chain %s differs: want %q, have %q", rs.Family, c.table, c.name, want, got)
		}
	}
	for _, j := range r.jumps {
		if spec := strings.Join(j.spec, " "); !have.get(j.table).has(j.chain, spec) {
			return fmt.Errorf("IPv%d %s %s lacks the jump %q", rs.Family, j.table, j.chain, spec)
		}
	}
	return nil
}

// removeLines is the payload that deletes an egress interface's chains
// and every jump to them, whatever its matches (so a changed
// clusterInterface cannot strand one), and what the tables hold besides.
func removeLines(have tables, egressIf string) (p payload, h holding) {
	p = payload{}
	dnat, snat := chainNames(egressIf)
	mark := markChain(egressIf)
	ours := []struct{ table, chain string }{{tableNAT, dnat}, {tableNAT, snat}, {tableMangle, mark}}
	for _, o := range ours {
		t := have.get(o.table)
		for _, base := range []string{"PREROUTING", "POSTROUTING", "OUTPUT"} {
			for _, spec := range t.rules[base] {
				if strings.HasSuffix(spec, " -j "+o.chain) || spec == "-j "+o.chain {
					p[o.table] = append(p[o.table], "-D "+base+" "+spec)
				}
			}
		}
	}
	for _, o := range ours {
		if have.get(o.table).chains[o.chain] {
			p[o.table] = append(p[o.table], "-F "+o.chain, "-X "+o.chain)
		}
	}
	nat := have.get(tableNAT)
	for c := range nat.chains {
		h.others = h.others || (strings.HasPrefix(c, "EGRESS-DNAT-") && c != dnat)
	}
	h.marker = nat.chains[iptMarker]
	return p, h
}
