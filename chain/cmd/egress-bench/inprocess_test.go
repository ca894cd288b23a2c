package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadWork(t *testing.T) {
	log := `2026-12-03T01:32:04.078393937Z [info] egress-router: ADD x net1: macvlan on ext0 mode bridge, [192.168.12.99/24], 1 NAT rulesets, 4 routes; 58.7 ms since start (checks 4.0 ms, probe 21.0 ms, macvlan 27.2 ms, routes 1.7 ms, nat nftables 4.1 ms, announce 0.8 ms)
2026-12-03T01:32:04.144409939Z [info] egress-router: DEL x net1 (netns "/run/netns/pf-router"): done; 50.0 ms since start (checks 1.0 ms, nat 2.0 ms, routes 1.5 ms, macvlan 45.0 ms, leftovers 0.5 ms)
2026-12-03T01:32:04.2Z [debug] egress-router: ADD x net1: something else
2026-12-03T01:32:04.3Z [info] egress-nat: ADD x net1: 1 NAT rulesets; 5.5 ms since start (checks 1.0 ms, nat iptables 4.5 ms)
2026-12-04T01:32:04.4Z [info] egress-router: ADD x net1: macvlan on ext0 mode bridge, [192.168.12.99/24], 1 NAT rulesets, 4 routes; 52.0 ms since start (checks 2.5 ms, probe 20.5 ms, macvlan 25.0 ms, nat nftables beside 2.4 ms, nat wait 0.1 ms, routes 0.7 ms, announce 0.2 ms); cpu 11.3 ms
`
	p := filepath.Join(t.TempDir(), "l")
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	calls, err := readWork(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4: %+v", len(calls), calls)
	}
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	add, del, nat := calls[0], calls[1], calls[2]
	// The probe listens and the interface plugin is a process of its
	// own: neither is our in-process work, both are listed.
	if add.plugin != "egress-router" || add.cmd != "ADD" || !near(add.ours, 58.7-21.0-27.2) || !near(add.steps["nat"], 4.1) ||
		len(add.names) != 6 || add.names[1] != "probe" || add.names[2] != "macvlan" {
		t.Errorf("ADD: %+v", add)
	}
	if del.cmd != "DEL" || !near(del.ours, 5.0) || !near(del.steps["leftovers"], 0.5) {
		t.Errorf("DEL: %+v", del)
	}
	if nat.plugin != "egress-nat" || !near(nat.ours, 5.5) || !near(nat.steps["nat"], 4.5) || nat.cpu != 0 {
		t.Errorf("egress-nat ADD: %+v", nat)
	}
	// A step beside the others is listed on its own and is already
	// within the probe's and the interface plugin's time: the critical
	// path is what is left of the total without those two. The process's
	// CPU time is read too.
	if b := calls[3]; !near(b.ours, 52.0-20.5-25.0) || !near(b.steps["nat beside"], 2.4) || !near(b.steps["nat wait"], 0.1) ||
		b.steps["nat"] != 0 || !near(b.cpu, 11.3) || !near(b.work(), 52.0-20.5-25.0+2.4) {
		t.Errorf("ADD with a step beside: %+v", b)
	}
}
