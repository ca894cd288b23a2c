package route

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/netx"
)

func cidr(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	n.IP = netx.Canonical(ip)
	return n
}

var dual = Plan{Egress: "net1", Cluster: "eth0",
	Addrs:      []*net.IPNet{cidr("192.168.12.99/24"), cidr("fd00:12::99/64")},
	ViaCluster: []*net.IPNet{cidr("10.128.0.0/14"), cidr("fd00:100::/24"), cidr("192.168.12.2/32")},
	Gateways:   []net.IP{net.ParseIP("192.168.12.1").To4(), net.ParseIP("fd00:12::1")},
}

func TestRoutesOrderAndLinks(t *testing.T) {
	asked := map[netx.Family]int{}
	gw := func(f netx.Family) (net.IP, error) {
		asked[f]++
		if f == netx.V4 {
			return net.ParseIP("10.129.2.1").To4(), nil
		}
		return nil, nil // on-link cluster network: scope link
	}
	rs, err := dual.Routes(7, 3, gw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		s := Describe(&r, map[int]string{7: "net1", 3: "eth0"})
		if r.Protocol != Protocol {
			t.Errorf("%s: protocol %d", s, r.Protocol)
		}
		if r.Gw == nil && r.Scope == 0 {
			s += " (scope universe)"
		}
		got = append(got, s)
	}
	want := []string{
		"10.128.0.0/14 via 10.129.2.1 dev eth0", "192.168.12.2/32 via 10.129.2.1 dev eth0",
		"fd00:100::/24 dev eth0",
		"192.168.12.1/32 dev net1", "fd00:12::1/128 dev net1",
		"default via 192.168.12.1 dev net1", "default via fd00:12::1 dev net1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if asked[netx.V4] != 1 || asked[netx.V6] != 1 {
		t.Errorf("cluster gateway asked %v, want once per family", asked)
	}
	if f := dual.Families(); len(f) != 2 || f[0] != netx.V4 || f[1] != netx.V6 {
		t.Errorf("families %v", f)
	}
}

func TestRoutesClusterGatewayError(t *testing.T) {
	noGW := func(f netx.Family) (net.IP, error) {
		return nil, cnierr.Config("clusterInterface %q has no %s default route", "eth0", f)
	}
	_, err := dual.Routes(7, 3, noGW)
	cnierrtest.Want(t, err, 7, "has no IPv4 default route", "(needed for [10.128.0.0/14 192.168.12.2/32])")
	// A plain error passes through unchanged.
	boom := errors.New("netlink dump interrupted")
	if _, err := dual.Routes(7, 3, func(netx.Family) (net.IP, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
	// Nothing to keep on the cluster interface: the gateway is never asked.
	p := dual
	p.ViaCluster = nil
	if rs, err := p.Routes(7, 3, noGW); err != nil || len(rs) != 4 {
		t.Errorf("%d routes, %v", len(rs), err)
	}
}

func TestLinesAndNoGateway(t *testing.T) {
	got := strings.Join(dual.Lines(), "\n")
	want := `10.128.0.0/14 via <eth0 gateway> dev eth0
192.168.12.2 via <eth0 gateway> dev eth0
fd00:100::/24 via <eth0 gateway> dev eth0
192.168.12.1 dev net1 scope link
fd00:12::1 dev net1 scope link
default via 192.168.12.1 dev net1
default via fd00:12::1 dev net1`
	if got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	p := dual
	p.Gateways = nil
	cnierrtest.Want(t, p.noGateway(), 7, `gateway: none configured`, `"net1"`, "192.168.12.99/24")
}
