package config

import (
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestWithoutConnected(t *testing.T) {
	cidrs := func(ss ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, s := range ss {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	subnets := cidrs("10.88.5.0/24", "fd00:88::/64")
	for _, c := range []struct {
		in, keep []string
		notes    int
	}{
		{in: []string{"10.88.5.0/24"}, notes: 1},                                                       // Podman's bridge subnet
		{in: []string{"10.88.5.128/25", "fd00:88::/96"}, notes: 2},                                     // inside
		{in: []string{"10.88.0.0/16"}, keep: []string{"10.88.0.0/16"}},                                 // holds it: still routed
		{in: []string{"10.89.0.0/24", "fd00:89::/64"}, keep: []string{"10.89.0.0/24", "fd00:89::/64"}}, // elsewhere
	} {
		keep, notes := withoutConnected(cidrs(c.in...), subnets)
		var got []string
		for _, k := range keep {
			got = append(got, k.String())
		}
		if strings.Join(got, " ") != strings.Join(c.keep, " ") || len(notes) != c.notes {
			t.Errorf("%v: kept %v with %d notes %q, want %v with %d", c.in, got, len(notes), notes, c.keep, c.notes)
		}
	}
}

// One dump of the node's addresses serves the master's addresses and
// subnets: only the master's, without link-local ones.
func TestAddressesOfOneLink(t *testing.T) {
	addr := func(idx int, cidr string) netlink.Addr {
		ip, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return netlink.Addr{IPNet: n, LinkIndex: idx}
	}
	have := []netlink.Addr{addr(1, "127.0.0.1/8"), addr(2, "192.168.12.2/24"), addr(2, "fe80::1/64"),
		addr(2, "fd00:12::2/64"), addr(3, "10.0.0.2/16")}
	var ips []string
	for _, ip := range globalIPs(have, 2) {
		ips = append(ips, ip.String())
	}
	if got := strings.Join(ips, " "); got != "192.168.12.2 fd00:12::2" {
		t.Errorf("master IPs %q", got)
	}
	var subnets []string
	for _, n := range linkSubnets(have, 2) {
		subnets = append(subnets, n.String())
	}
	if got := strings.Join(subnets, " "); got != "192.168.12.0/24 fd00:12::/64" {
		t.Errorf("master subnets %q", got)
	}
	if err := guardNode("ip.addresses", []*net.IPNet{addr(0, "10.0.0.2/16").IPNet}, have); err == nil {
		t.Error("a node address passed guardNode")
	}
}
