package e2e

import (
	"net"
	"strings"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// checkResult asserts the chain's final result: net1 in the pod with both
// reserved addresses, and the routes egress-route added.
func checkResult(t *testing.T, topo *testnet.Topology, version string, res *current.Result) {
	t.Helper()
	if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "net1" || res.Interfaces[0].Sandbox != nstest.Path(topo.Router) {
		t.Fatalf("result interfaces = %+v, want net1 in %s", res.Interfaces, nstest.Path(topo.Router))
	}
	var addrs []string
	for _, ip := range res.IPs {
		addrs = append(addrs, ip.Address.String()+" gw "+ip.Gateway.String())
	}
	if got := strings.Join(addrs, ","); got != "192.168.12.99/24 gw 192.168.12.1,fd00:12::99/64 gw fd00:12::1" {
		t.Errorf("result ips = %s", got)
	}
	routes := map[string]string{}
	for _, r := range res.Routes {
		routes[r.Dst.String()] = r.GW.String()
	}
	want := map[string]string{
		"0.0.0.0/0": "192.168.12.1", "::/0": "fd00:12::1",
		"10.128.0.0/14": "10.129.2.1", "172.30.0.0/16": "10.129.2.1", "192.168.12.2/32": "10.129.2.1",
		"fd00:100::/24": "fd00:129::1", "fd00:172:30::/112": "fd00:129::1", "fd00:12::2/128": "fd00:129::1",
		"192.168.12.1/32": "<nil>", "fd00:12::1/128": "<nil>",
	}
	for dst, gw := range want {
		if got, ok := routes[dst]; !ok || got != gw {
			t.Errorf("result (cniVersion %s) route %s: got gw %q (present %v), want %q", version, dst, got, ok, gw)
		}
	}
	if len(res.Routes) != len(want) {
		t.Errorf("result has %d routes, want %d: %v", len(res.Routes), len(want), res.Routes)
	}
}

// checkAttached asserts the router pod's routes and NAT and sends real
// traffic through it.
func checkAttached(t *testing.T, topo *testnet.Topology) {
	t.Helper()
	// The table reads like OpenShift's documented one (seed 001), plus the
	// cluster, service and master-host routes it left out.
	wantLines(t, "router IPv4 routes", run(t, topo.Router, "ip", "-4", "route"), []string{
		"default via 192.168.12.1 dev net1 proto 69",
		"10.128.0.0/14 via 10.129.2.1 dev eth0 proto 69",
		"10.129.2.0/23 dev eth0 proto kernel scope link src 10.129.2.31",
		"172.30.0.0/16 via 10.129.2.1 dev eth0 proto 69",
		"192.168.12.0/24 dev net1 proto kernel scope link src 192.168.12.99",
		"192.168.12.1 dev net1 proto 69 scope link",
		"192.168.12.2 via 10.129.2.1 dev eth0 proto 69",
	})
	wantLines(t, "saved cluster default routes", run(t, topo.Router, "ip", "route", "show", "table", "17746"),
		[]string{"default via 10.129.2.1 dev eth0"})
	v6 := run(t, topo.Router, "ip", "-6", "route")
	for _, l := range []string{
		"default via fd00:12::1 dev net1 proto 69",
		"fd00:100::/24 via fd00:129::1 dev eth0 proto 69",
		"fd00:172:30::/112 via fd00:129::1 dev eth0 proto 69",
		"fd00:12::2 via fd00:129::1 dev eth0 proto 69",
		"fd00:12::1 dev net1 proto 69",
	} {
		if !strings.Contains(v6, l) {
			t.Errorf("router IPv6 routes lack %q:\n%s", l, v6)
		}
	}
	if strings.Contains(v6, "default via fd00:129::1") {
		t.Errorf("the cluster IPv6 default route is still in main:\n%s", v6)
	}

	wantLines(t, "IPv4 NAT", strings.Join(nstest.NATLines(t, topo.Router, 4), "\n"), nstest.WithMarks(nstest.Pick([]string{
		":EGRESS-DNAT-net1 - [0:0]",
		":EGRESS-FORWARDING-WAS-OFF - [0:0]",
		":EGRESS-SNAT-net1 - [0:0]",
		"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 203.0.113.5:8080",
		"-A EGRESS-DNAT-net1 -p udp -m udp --dport 5353 -j DNAT --to-destination 203.0.113.5:5353",
		"-A EGRESS-DNAT-net1 -j DNAT --to-destination 192.168.12.91",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.99",
	}, []string{
		"table ip egress-net1",
		"map ports",
		"type inet_proto . inet_service : ipv4_addr . inet_service",
		"size 2", // sized for its elements: a fixed hash
		"elements = { tcp . 80 : 203.0.113.5 . 8080, udp . 5353 : 203.0.113.5 . 5353 }",
		"chain prerouting",
		"type nat hook prerouting priority dstnat; policy accept;",
		`iifname "eth0" dnat ip to meta l4proto . th dport map @ports`,
		`iifname "eth0" dnat to 192.168.12.91`,
		"chain postrouting",
		"type nat hook postrouting priority srcnat; policy accept;",
		`oifname "net1" snat to 192.168.12.99`,
		"table ip egress_forwarding",
	}), "eth0", "net1"))
	wantLines(t, "IPv6 NAT", strings.Join(nstest.NATLines(t, topo.Router, 6), "\n"), nstest.WithMarks(nstest.Pick([]string{
		":EGRESS-DNAT-net1 - [0:0]",
		":EGRESS-FORWARDING-WAS-OFF - [0:0]",
		":EGRESS-SNAT-net1 - [0:0]",
		"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
		"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:203::5]:8080",
		"-A EGRESS-DNAT-net1 -j DNAT --to-destination fd00:12::91",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source fd00:12::99",
	}, []string{
		"table ip6 egress-net1",
		"map ports",
		"type inet_proto . inet_service : ipv6_addr . inet_service",
		"size 1",
		"elements = { tcp . 80 : fd00:203::5 . 8080 }",
		"chain prerouting",
		"type nat hook prerouting priority dstnat; policy accept;",
		`iifname "eth0" dnat ip6 to meta l4proto . th dport map @ports`,
		`iifname "eth0" dnat to fd00:12::91`,
		"chain postrouting",
		"type nat hook postrouting priority srcnat; policy accept;",
		`oifname "net1" snat to fd00:12::99`,
		"table ip6 egress_forwarding",
	}), "eth0", "net1"))
	for _, s := range []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"} {
		if got := strings.TrimSpace(run(t, topo.Router, "sysctl", "-n", s)); got != "1" {
			t.Errorf("router %s = %s, want 1", s, got)
		}
	}
	checkTraffic(t, topo)
}

// checkTraffic sends TCP and UDP from the client pod (another cluster
// subnet) to the router pod's cluster address and asserts which server
// answered and which source it saw.
func checkTraffic(t *testing.T, topo *testnet.Topology) {
	t.Helper()
	cases := []struct {
		name, proto, serverNS, listen, target, wantSrc string
	}{
		{"tcp port rule with remote port", "tcp", topo.Far, "203.0.113.5:8080", "10.129.2.31:80", testnet.ReservedIP},
		{"udp port rule", "udp", topo.Far, "203.0.113.5:5353", "10.129.2.31:5353", testnet.ReservedIP},
		{"tcp fallback on the egress subnet", "tcp", topo.Ext, "192.168.12.91:9999", "10.129.2.31:9999", testnet.ReservedIP},
		{"udp fallback", "udp", topo.Ext, "192.168.12.91:7777", "10.129.2.31:7777", testnet.ReservedIP},
		{"ipv6 tcp port rule", "tcp", topo.Far, "[fd00:203::5]:8080", "[fd00:129::31]:80", testnet.ReservedIP6},
		{"ipv6 tcp fallback", "tcp", topo.Ext, "[fd00:12::91]:9999", "[fd00:129::31]:9999", testnet.ReservedIP6},
	}
	for _, c := range cases {
		srv, err := nstest.Serve(c.serverNS, c.proto, c.listen)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := nstest.Ask(topo.Client, c.proto, c.target)
		srv.Close()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := nstest.SourceIP(seen); got != c.wantSrc {
			t.Errorf("%s: the server at %s saw source %s, want the reserved %s", c.name, c.listen, got, c.wantSrc)
		}
		if len(srv.Peers()) != 1 {
			t.Errorf("%s: server %s saw %d peers, want 1", c.name, c.listen, len(srv.Peers()))
		}
	}

	// A macvlan cannot reach its own master: the route via eth0 must.
	srv, err := nstest.Serve(topo.Node, "tcp", net.JoinHostPort(testnet.NodeMasterIP, "7000"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	seen, err := nstest.Ask(topo.Router, "tcp", net.JoinHostPort(testnet.NodeMasterIP, "7000"))
	if err != nil {
		t.Errorf("router to the master host's IP: %v", err)
	} else if got := nstest.SourceIP(seen); got != testnet.RouterPodIP {
		t.Errorf("the master host saw the router from %s, want its cluster address %s (via eth0)", got, testnet.RouterPodIP)
	}
}
