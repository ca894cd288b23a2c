package nat

import (
	"net"
	"strings"
	"testing"
)

func dualStack(t *testing.T) []Ruleset {
	t.Helper()
	sets, err := Build(Spec{ClusterInterface: "eth0", EgressInterface: "net1",
		Sources:      ips("192.168.12.99", "fd00:12::99"),
		Destinations: parseDest(t, "", "80 tcp 203.0.113.5 8080", "53 udp fd00:203::53", "203.0.113.9")})
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// saveOf renders what iptables-save would print after a restore of the
// ruleset into an empty nat table (jumps appended, as -I 1 into empty
// chains puts them).
func saveOf(rs Ruleset, extra ...string) string {
	r := iptablesRules(rs)
	lines := []string{"*nat", ":PREROUTING ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ":" + r.dnatChain + " - [0:0]", ":" + r.snatChain + " - [0:0]"}
	lines = append(lines, extra...)
	lines = append(lines, IPTablesLines(rs)...)
	return strings.Join(append(lines, "COMMIT"), "\n")
}

func TestIPTablesApplyLines(t *testing.T) {
	rs := dualStack(t)[0]
	got := applyLines(parseSave(""), rs, true)
	want := []string{
		":EGRESS-DNAT-net1 - [0:0]", ":EGRESS-SNAT-net1 - [0:0]", ":EGRESS-FORWARDING-WAS-OFF - [0:0]",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 203.0.113.5:8080",
		"-A EGRESS-DNAT-net1 -j DNAT --to-destination 203.0.113.9",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.99",
		"-I PREROUTING 1 -i eth0 -j EGRESS-DNAT-net1",
		"-I POSTROUTING 1 -o net1 -j EGRESS-SNAT-net1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("payload into an empty table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Re-applying over an installed ruleset refills the chains but adds
	// no second jump, and no marker unless asked.
	again := strings.Join(applyLines(parseSave(saveOf(rs)), rs, false), "\n")
	if strings.Contains(again, "-I ") || strings.Contains(again, "FORWARDING") || !strings.Contains(again, "-A EGRESS-SNAT-net1") {
		t.Errorf("payload over an installed ruleset:\n%s", again)
	}
}

func TestIPTablesCheckSaved(t *testing.T) {
	sets := dualStack(t)
	v4, v6 := sets[0], sets[1]
	if err := checkSaved(parseSave(saveOf(v4)), v4); err != nil {
		t.Errorf("installed ruleset: %v", err)
	}
	if err := checkSaved(parseSave(saveOf(v6)), v6); err != nil {
		t.Errorf("installed IPv6 ruleset: %v", err)
	}
	other := v4
	other.Fallback = net.ParseIP("203.0.113.10").To4()
	for _, c := range []struct {
		name, save, frag string
	}{
		{"empty table", "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT", "nat chain EGRESS-DNAT-net1 is missing"},
		{"a rule added by hand", saveOf(v4, "-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 22 -j DNAT --to-destination 10.0.0.1:22"), "chain EGRESS-DNAT-net1 differs"},
		{"another fallback", saveOf(other), "chain EGRESS-DNAT-net1 differs"},
		{"a jump gone", strings.Replace(saveOf(v4), "-A POSTROUTING -o net1 -j EGRESS-SNAT-net1\n", "", 1), "POSTROUTING lacks the jump"},
	} {
		err := checkSaved(parseSave(c.save), v4)
		if err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.frag)
		}
	}
}

func TestIPTablesRemoveLines(t *testing.T) {
	rs := dualStack(t)[0]
	net2 := rs
	net2.Egress = "net2"
	save := saveOf(rs, ":EGRESS-FORWARDING-WAS-OFF - [0:0]",
		// A jump left behind by an older clusterInterface is ours too.
		"-A PREROUTING -i eth9 -j EGRESS-DNAT-net1")
	lines, h := removeLines(parseSave(save), "net1")
	want := []string{
		"-D PREROUTING -i eth9 -j EGRESS-DNAT-net1", "-D PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-D POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-F EGRESS-DNAT-net1", "-X EGRESS-DNAT-net1", "-F EGRESS-SNAT-net1", "-X EGRESS-SNAT-net1",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") || h.others || !h.marker {
		t.Errorf("removal:\n%s\nholding %+v; want:\n%s\nand the marker only", strings.Join(lines, "\n"), h, strings.Join(want, "\n"))
	}
	// net2's chains stay and are reported.
	both := parseSave(saveOf(rs) + "\n" + saveOf(net2))
	lines, h = removeLines(both, "net1")
	if !h.others || strings.Contains(strings.Join(lines, "\n"), "net2") {
		t.Errorf("removal beside net2: %q, holding %+v", lines, h)
	}
	// Nothing of ours: nothing to do.
	if lines, h := removeLines(parseSave(saveOf(net2)), "net1"); len(lines) != 0 || !h.others {
		t.Errorf("removal of an absent attachment: %q %+v", lines, h)
	}
}
