package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// These tests need kernel features this project's development machine
// lacks (ipvlan links, SCTP sockets). They skip where the kernel has none,
// and make test-kernels runs them in a VM on Debian's stock kernel, where
// a skip is a failure (nstest.RequireEnv).

// ipvlanSingle is the dual-stack router of the conflist tests as one
// egress-router config on ipvlan in mode.
func ipvlanSingle(mode string) []byte {
	return []byte(fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "egress-router", "plugins": [
  {"type": "egress-router", "interfaceType": "ipvlan", "interfaceArgs": {"master": "ext0", "mode": %q},
   "ip": {"addresses": ["192.168.12.99/24", "fd00:12::99/64"],
          "destinations": ["80 tcp 203.0.113.5 8080", "5353 UDP 203.0.113.5", "80 tcp fd00:203::5 8080", "fd00:12::91"],
          "fallbackIP": "192.168.12.91"},
   "clusterCIDRs": ["10.128.0.0/14", "fd00:100::/24"], "serviceCIDRs": ["172.30.0.0/16", "fd00:172:30::/112"]}
]}`, strings.ToUpper(mode)))
}

// ipvlanConflist is conflist() with upstream ipvlan in mode in place of
// macvlan.
func ipvlanConflist(mode string) []byte {
	c := strings.Replace(string(conflist("1.1.0")), `{"type": "macvlan", "master": "ext0", "mode": "bridge",`,
		fmt.Sprintf(`{"type": "ipvlan", "master": "ext0", "mode": %q,`, mode), 1)
	if !strings.Contains(c, `"type": "ipvlan"`) {
		panic("conflist() no longer names macvlan as ipvlanConflist expects")
	}
	return []byte(c)
}

// TestIPVLAN attaches an egress router on ipvlan, L2 and L3, as the
// single plugin and as a conflist, and sends IPv4 and IPv6 traffic from
// the client pod through it; then CHECK, DEL, and nothing left.
func TestIPVLAN(t *testing.T) {
	for _, mode := range []string{"l2", "l3"} {
		for _, form := range []string{"single", "conflist"} {
			t.Run(mode+" "+form, func(t *testing.T) {
				topo := up(t)
				nstest.NeedKernel(t, topo.Node, "ipvlan")
				conf := ipvlanConflist(mode)
				if form == "single" {
					conf = ipvlanSingle(mode)
				}
				if mode == "l3" {
					// An L3 port sees no broadcast, so nobody answers ARP or
					// NDP for the reserved address: the network routes it to
					// the node's master address instead (README: ipvlan L3).
					run(t, topo.Ext, "ip", "route", "add", testnet.ReservedIP+"/32", "via", testnet.NodeMasterIP)
					run(t, topo.Ext, "ip", "-6", "route", "add", testnet.ReservedIP6+"/128", "via", testnet.NodeMasterIP6)
				}
				before := nstest.MustTake(t, topo.Router)
				r := newLibcni(t, topo, conf)
				if _, err := r.add(t, topo); err != nil {
					t.Fatalf("ADD: %v", err)
				}
				link := run(t, topo.Router, "ip", "-d", "link", "show", "net1")
				if !strings.Contains(link, "ipvlan  mode "+mode+" ") {
					t.Errorf("net1 is not ipvlan mode %s:\n%s", mode, link)
				}
				checkAttached(t, topo)
				if t.Failed() {
					t.Logf("router addresses:\n%s", run(t, topo.Router, "ip", "addr"))
				}
				if err := r.check(t, topo); err != nil {
					t.Errorf("CHECK after ADD: %v", err)
				}
				checkNoticesTampering(t, topo, r)
				for i := 1; i <= 2; i++ {
					if err := r.del(t, topo); err != nil {
						t.Fatalf("DEL #%d: %v", i, err)
					}
				}
				before.Unchanged(t, topo.Router, "after DEL (compared with before ADD)")
				if got := run(t, topo.Node, "ip", "-d", "link", "show", "ext0"); strings.Contains(got, "ipvlan") {
					t.Errorf("the master still carries an ipvlan port after DEL:\n%s", got)
				}
			})
		}
	}
}

// TestSCTPPortRule sends real SCTP through a port rule, IPv4 and IPv6,
// with the backend EGRESS_NAT_BACKEND names (make test-kernels runs it
// with each).
func TestSCTPPortRule(t *testing.T) {
	topo := up(t)
	nstest.NeedKernel(t, topo.Node, "sctp")
	conf := []byte(`{"cniVersion": "1.1.0", "name": "egress-router", "plugins": [
  {"type": "egress-router", "interfaceArgs": {"master": "ext0"},
   "ip": {"addresses": ["192.168.12.99/24", "fd00:12::99/64"],
          "destinations": ["2905 sctp 203.0.113.5 3868", "2905 SCTP fd00:203::5 3868", "80 tcp 203.0.113.5 8080"]},
   "clusterCIDRs": ["10.128.0.0/14", "fd00:100::/24"]}
]}`)
	before := nstest.MustTake(t, topo.Router)
	r := newLibcni(t, topo, conf)
	if _, err := r.add(t, topo); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	nat := strings.Join(append(nstest.NATLines(t, topo.Router, 4), nstest.NATLines(t, topo.Router, 6)...), "\n")
	for _, want := range []string{
		nstest.Pick("-A EGRESS-DNAT-net1 -p sctp -m sctp --dport 2905 -j DNAT --to-destination 203.0.113.5:3868", "sctp . 2905 : 203.0.113.5 . 3868"),
		nstest.Pick("-A EGRESS-DNAT-net1 -p sctp -m sctp --dport 2905 -j DNAT --to-destination [fd00:203::5]:3868", "sctp . 2905 : fd00:203::5 . 3868"),
	} {
		if !strings.Contains(nat, want) {
			t.Errorf("the router's NAT lacks %q:\n%s", want, nat)
		}
	}
	for _, c := range []struct{ listen, target, wantSrc string }{
		{"203.0.113.5:3868", "10.129.2.31:2905", testnet.ReservedIP},
		{"[fd00:203::5]:3868", "[fd00:129::31]:2905", testnet.ReservedIP6},
	} {
		srv, err := nstest.Serve(topo.Far, "sctp", c.listen)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := nstest.Ask(topo.Client, "sctp", c.target)
		srv.Close()
		if err != nil {
			t.Errorf("sctp to %s: %v", c.target, err)
			continue
		}
		if got := nstest.SourceIP(seen); got != c.wantSrc {
			t.Errorf("sctp to %s: the server at %s saw source %s, want the reserved %s", c.target, c.listen, got, c.wantSrc)
		}
		if len(srv.Peers()) != 1 {
			t.Errorf("sctp server %s saw %d associations, want 1", c.listen, len(srv.Peers()))
		}
	}
	if err := r.check(t, topo); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	if err := r.del(t, topo); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	before.Unchanged(t, topo.Router, "after DEL")
}
