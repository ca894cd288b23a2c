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
// ruleset into empty tables (jumps appended, as -I 1 into empty chains
// puts them); extra lines go into the nat table.
func saveOf(rs Ruleset, extra ...string) string {
	r := iptablesRules(rs)
	lines := []string{"*nat", ":PREROUTING ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ":" + r.chains[0].name + " - [0:0]", ":" + r.chains[1].name + " - [0:0]"}
	lines = append(lines, extra...)
	lines = append(lines, IPTablesLines(rs)...)
	lines = append(lines, "COMMIT", "*mangle", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":"+r.chains[2].name+" - [0:0]")
	lines = append(lines, iptLines(rs, tableMangle, "")...)
	return strings.Join(append(lines, "COMMIT"), "\n")
}

func TestIPTablesApplyLines(t *testing.T) {
	rs := dualStack(t)[0]
	got := applyLines(parseSave(""), rs, true).text()
	want := strings.Join([]string{"*nat",
		":EGRESS-DNAT-net1 - [0:0]", ":EGRESS-SNAT-net1 - [0:0]", ":EGRESS-FORWARDING-WAS-OFF - [0:0]",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 203.0.113.5:8080",
		"-A EGRESS-DNAT-net1 -j DNAT --to-destination 203.0.113.9",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.99",
		"-I PREROUTING 1 -i eth0 -j EGRESS-DNAT-net1",
		"-I POSTROUTING 1 -o net1 -j EGRESS-SNAT-net1",
		"COMMIT", "*mangle",
		":EGRESS-MARK-net1 - [0:0]",
		"-A EGRESS-MARK-net1 -i eth0 -m conntrack --ctstate NEW -j CONNMARK --set-xmark 0x20000000/0x20000000",
		"-A EGRESS-MARK-net1 -m conntrack --ctdir REPLY -m connmark --mark 0x20000000/0x20000000 -j MARK --set-xmark 0x20000000/0x20000000",
		"-I PREROUTING 1 -j EGRESS-MARK-net1",
		"-I OUTPUT 1 -j EGRESS-MARK-net1",
		"COMMIT", "",
	}, "\n")
	if got != want {
		t.Errorf("payload into empty tables:\n%s\nwant:\n%s", got, want)
	}
	// Re-applying over an installed ruleset refills the chains but adds
	// no second jump, and no marker unless asked.
	again := applyLines(parseSave(saveOf(rs)), rs, false).text()
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
		{"the mark chain gone", saveOf(v4)[:strings.Index(saveOf(v4), "*mangle")], "mangle chain EGRESS-MARK-net1 is missing"},
		{"a rule added by hand", saveOf(v4, "-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 22 -j DNAT --to-destination 10.0.0.1:22"), "chain EGRESS-DNAT-net1 differs"},
		{"another fallback", saveOf(other), "chain EGRESS-DNAT-net1 differs"},
		{"a jump gone", strings.Replace(saveOf(v4), "-A POSTROUTING -o net1 -j EGRESS-SNAT-net1\n", "", 1), "POSTROUTING lacks the jump"},
		{"the mark jump gone", strings.Replace(saveOf(v4), "-A OUTPUT -j EGRESS-MARK-net1\n", "", 1), "mangle OUTPUT lacks the jump"},
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
	want := strings.Join([]string{"*nat",
		"-D PREROUTING -i eth9 -j EGRESS-DNAT-net1", "-D PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-D POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-F EGRESS-DNAT-net1", "-X EGRESS-DNAT-net1", "-F EGRESS-SNAT-net1", "-X EGRESS-SNAT-net1",
		"COMMIT", "*mangle",
		"-D PREROUTING -j EGRESS-MARK-net1", "-D OUTPUT -j EGRESS-MARK-net1",
		"-F EGRESS-MARK-net1", "-X EGRESS-MARK-net1",
		"COMMIT", "",
	}, "\n")
	if lines.text() != want || h.others || !h.marker {
		t.Errorf("removal:\n%s\nholding %+v; want:\n%s\nand the marker only", lines.text(), h, want)
	}
	// net2's chains stay and are reported.
	both := parseSave(mergeSaves(saveOf(rs), saveOf(net2)))
	lines, h = removeLines(both, "net1")
	if !h.others || strings.Contains(lines.text(), "net2") || !strings.Contains(lines.text(), "-X EGRESS-MARK-net1") {
		t.Errorf("removal beside net2: %q, holding %+v", lines.text(), h)
	}
	// Nothing of ours: nothing to do.
	if lines, h := removeLines(parseSave(saveOf(net2)), "net1"); len(lines) != 0 || !h.others {
		t.Errorf("removal of an absent attachment: %q %+v", lines.text(), h)
	}
}

// mergeSaves joins two iptables-save outputs table by table, as one pod
// with both attachments would print them.
func mergeSaves(a, b string) string {
	ta, tb := parseSave(a), parseSave(b)
	var out []string
	for _, name := range []string{tableNAT, tableMangle} {
		out = append(out, "*"+name)
		for _, t := range []tables{ta, tb} {
			for c := range t.get(name).chains {
				out = append(out, ":"+c+" - [0:0]")
			}
		}
		for _, t := range []tables{ta, tb} {
			for c, specs := range t.get(name).rules {
				for _, s := range specs {
					out = append(out, "-A "+c+" "+s)
				}
			}
		}
		out = append(out, "COMMIT")
	}
	return strings.Join(out, "\n")
}
