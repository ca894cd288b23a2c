package plan

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/netx"
)

func index(i int) *int { return &i }

// ipc is an IPConfig of interface i (nil for none) with an optional gateway.
func ipc(i *int, cidr, gw string) *current.IPConfig {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err)
	}
	n.IP = ip
	if ip.To4() != nil {
		n.IP = ip.To4()
	}
	return &current.IPConfig{Interface: i, Address: *n, Gateway: net.ParseIP(gw)}
}

// describe renders an Egress as "ifname: addr gw, addr gw".
func describe(e *Egress) string {
	var s []string
	for i, a := range e.Addrs {
		s = append(s, fmt.Sprintf("%s %v", a, e.Gateways[i]))
	}
	return e.IfName + ": " + strings.Join(s, ", ")
}

const podNS = "/var/run/netns/pod"

func TestFindEgress(t *testing.T) {
	// A realistic macvlan result: the host side has the same name but no
	// sandbox, and eth0 in the pod carries an address of its own.
	macvlan := &current.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*current.Interface{
			{Name: "net1", Mac: "aa:bb:cc:00:00:01"}, // 0: host side
			{Name: "eth0", Sandbox: podNS},           // 1
			nil,                                      // 2
			{Name: "net1", Sandbox: podNS, Mac: "aa:bb:cc:00:00:02"}, // 3
		},
		IPs: []*current.IPConfig{
			ipc(index(0), "10.9.9.9/24", "10.9.9.1"),
			ipc(index(1), "10.128.0.5/23", "10.128.0.1"),
			ipc(index(3), "192.168.12.99/24", "192.168.12.1"),
			ipc(nil, "10.8.8.8/24", ""),
			nil,
			ipc(index(7), "10.7.7.7/24", ""),
			ipc(index(3), "fd00:12::99/64", ""),
		},
	}
	hostOnly := &current.Result{
		Interfaces: []*current.Interface{{Name: "net1"}},
		IPs:        []*current.IPConfig{ipc(index(0), "192.168.12.99/24", "")},
	}
	twoNetns := &current.Result{
		Interfaces: []*current.Interface{{Name: "net1", Sandbox: "/var/run/netns/other"}, {Name: "net1", Sandbox: podNS}},
		IPs:        []*current.IPConfig{ipc(index(0), "10.0.0.1/24", ""), ipc(index(1), "10.0.0.2/24", "")},
	}
	otherNetns := &current.Result{
		Interfaces: []*current.Interface{{Name: "net1", Sandbox: "/var/run/netns/other"}},
		IPs:        []*current.IPConfig{ipc(index(0), "10.0.0.1/24", "")},
	}
	noIPs := &current.Result{
		Interfaces: []*current.Interface{{Name: "net1", Sandbox: podNS}, {Name: "eth0", Sandbox: podNS}},
		IPs:        []*current.IPConfig{ipc(index(1), "10.128.0.5/23", "")},
	}

	// The runtime may name the netns through a symbolic link (/var/run
	// and /run); the sandbox path then differs from CNI_NETNS.
	dir := t.TempDir()
	nsFile := filepath.Join(dir, "ns")
	if err := os.WriteFile(nsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(nsFile, link); err != nil {
		t.Fatal(err)
	}
	viaLink := &current.Result{
		Interfaces: []*current.Interface{{Name: "net1", Sandbox: "/var/run/netns/other"}, {Name: "net1", Sandbox: link}},
		IPs:        []*current.IPConfig{ipc(index(0), "10.0.0.1/24", ""), ipc(index(1), "10.0.0.2/24", "")},
	}

	cases := []struct {
		name   string
		res    *current.Result
		netns  string
		ifName string
		want   string // describe(egress)
		err    []string
	}{
		{name: "nil result", res: nil, netns: podNS, ifName: "net1",
			err: []string{"prevResult: missing", "must follow an interface plugin"}},
		{name: "no interface of that name", res: macvlan, netns: podNS, ifName: "net2",
			err: []string{`prevResult: no interface "net2" with sandbox "/var/run/netns/pod"`}},
		{name: "host side only is ignored", res: hostOnly, netns: podNS, ifName: "net1",
			err: []string{`prevResult: no interface "net1"`}},
		{name: "empty result", res: &current.Result{}, netns: podNS, ifName: "net1",
			err: []string{`no interface "net1"`}},
		{name: "interface without addresses", res: noIPs, netns: podNS, ifName: "net1",
			err: []string{`prevResult: interface "net1" has no IP address`}},
		{name: "addresses of the pod-side interface only", res: macvlan, netns: podNS, ifName: "net1",
			want: "net1: 192.168.12.99/24 192.168.12.1, fd00:12::99/64 <nil>"},
		{name: "another interface of the same result", res: macvlan, netns: podNS, ifName: "eth0",
			want: "eth0: 10.128.0.5/23 10.128.0.1"},
		{name: "netns path written differently", res: macvlan, netns: "/var/run/netns//pod/", ifName: "net1",
			want: "net1: 192.168.12.99/24 192.168.12.1, fd00:12::99/64 <nil>"},
		{name: "exact netns wins over an earlier sandbox", res: twoNetns, netns: podNS, ifName: "net1",
			want: "net1: 10.0.0.2/24 <nil>"},
		{name: "netns through a symbolic link", res: viaLink, netns: nsFile, ifName: "net1",
			want: "net1: 10.0.0.2/24 <nil>"},
		{name: "only another sandbox: taken as the pod's", res: otherNetns, netns: podNS, ifName: "net1",
			want: "net1: 10.0.0.1/24 <nil>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eg, err := FindEgress(c.res, c.netns, c.ifName)
			if c.err != nil {
				if err == nil {
					t.Fatalf("no error; found %s", describe(eg))
				}
				cnierrtest.Want(t, err, 7, c.err...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := describe(eg); got != c.want {
				t.Errorf("found %q, want %q", got, c.want)
			}
		})
	}
}

func TestFamily(t *testing.T) {
	eg := &Egress{IfName: "net1",
		Addrs: []*net.IPNet{
			{IP: net.ParseIP("192.168.12.99"), Mask: net.CIDRMask(24, 32)}, // 16-byte IPv4
			{IP: net.ParseIP("fd00:12::99"), Mask: net.CIDRMask(64, 128)},
			{IP: net.ParseIP("192.168.13.99").To4(), Mask: net.CIDRMask(24, 32)},
		},
		Gateways: []net.IP{net.ParseIP("192.168.12.1"), net.ParseIP("fd00:12::1"), nil},
	}
	v4only := &Egress{IfName: "net1", Addrs: eg.Addrs[:1], Gateways: eg.Gateways[:1]}
	cases := []struct {
		name string
		eg   *Egress
		fam  netx.Family
		want string // "addr gw" joined by ", "
	}{
		{"IPv4", eg, 4, "192.168.12.99/24 192.168.12.1, 192.168.13.99/24 <nil>"},
		{"IPv6", eg, 6, "fd00:12::99/64 fd00:12::1"},
		{"no IPv6", v4only, 6, ""},
	}
	for _, c := range cases {
		addrs, gws := c.eg.Family(c.fam)
		if len(addrs) != len(gws) {
			t.Errorf("%s: %d addresses but %d gateways", c.name, len(addrs), len(gws))
			continue
		}
		var s []string
		for i, a := range addrs {
			s = append(s, fmt.Sprintf("%s %v", a, gws[i]))
		}
		if got := strings.Join(s, ", "); got != c.want {
			t.Errorf("%s: Family(%d) = %q, want %q", c.name, c.fam, got, c.want)
		}
	}
}
