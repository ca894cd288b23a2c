package config

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
)

// describeRoutes renders route settings on one line; master shows "nil"
// apart from an empty list, since nil means "discover the master's
// addresses".
func describeRoutes(c *routeSettings) string {
	join := func(n int, at func(int) string) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, at(i))
		}
		return strings.Join(s, ",")
	}
	master := "nil"
	if c.masterIPs != nil {
		master = "[" + join(len(c.masterIPs), func(i int) string { return c.masterIPs[i].String() }) + "]"
	}
	return fmt.Sprintf("if=%s via=%s gw=%s master=%s nomaster=%v", c.clusterInterface,
		join(len(c.viaCluster), func(i int) string { return c.viaCluster[i].String() }),
		join(len(c.gateways), func(i int) string { return c.gateways[i].String() }),
		master, c.noMasterRoutes)
}

// routeOpts are egress-route's fields, flat, as a config gives them.
type routeOpts struct {
	ClusterInterface string
	ClusterCIDRs     []string
	ServiceCIDRs     []string
	Gateway          string
	MasterIPs        []string
	MasterRoutes     *bool
}

func (o routeOpts) settings() (*routeSettings, error) {
	return RouteOptions{ClusterCIDRs: o.ClusterCIDRs, ServiceCIDRs: o.ServiceCIDRs, MasterIPs: o.MasterIPs, MasterRoutes: o.MasterRoutes}.
		settings(Cluster{ClusterInterface: o.ClusterInterface}, o.Gateway)
}

func TestRouteOptions(t *testing.T) {
	on, off := true, false
	cases := []struct {
		name string
		opt  routeOpts
		want string   // describeRoutes(cfg); ignored with err
		err  []string // message fragments
	}{
		{name: "defaults", opt: routeOpts{},
			want: "if=eth0 via= gw= master=nil nomaster=false"},
		{name: "explicit cluster interface", opt: routeOpts{ClusterInterface: "ens3"},
			want: "if=ens3 via= gw= master=nil nomaster=false"},
		{name: "cluster then service CIDRs in order",
			opt:  routeOpts{ClusterCIDRs: []string{"10.128.0.0/14", "fd00:10:128::/56"}, ServiceCIDRs: []string{"172.30.0.0/16", "fd00:172:30::/112"}},
			want: "if=eth0 via=10.128.0.0/14,fd00:10:128::/56,172.30.0.0/16,fd00:172:30::/112 gw= master=nil nomaster=false"},
		{name: "service CIDRs only", opt: routeOpts{ServiceCIDRs: []string{"172.30.0.0/16"}},
			want: "if=eth0 via=172.30.0.0/16 gw= master=nil nomaster=false"},
		{name: "host bits of a CIDR are dropped", opt: routeOpts{ClusterCIDRs: []string{"10.128.1.2/14"}},
			want: "if=eth0 via=10.128.0.0/14 gw= master=nil nomaster=false"},
		{name: "IPv4 gateway", opt: routeOpts{Gateway: "192.168.12.1"},
			want: "if=eth0 via= gw=192.168.12.1 master=nil nomaster=false"},
		{name: "IPv6 gateway with masterRoutes false", opt: routeOpts{Gateway: "fd00:12::1", MasterRoutes: &off},
			want: "if=eth0 via= gw=fd00:12::1 master=nil nomaster=true"},
		{name: "masterRoutes true", opt: routeOpts{MasterRoutes: &on},
			want: "if=eth0 via= gw= master=nil nomaster=false"},
		{name: "masterRoutes false", opt: routeOpts{MasterRoutes: &off},
			want: "if=eth0 via= gw= master=nil nomaster=true"},
		{name: "masterRoutes false with an empty masterIPs", opt: routeOpts{MasterRoutes: &off, MasterIPs: []string{}},
			want: "if=eth0 via= gw= master=[] nomaster=true"},
		{name: "masterIPs", opt: routeOpts{MasterIPs: []string{"192.168.12.2", "fd00:12::2"}},
			want: "if=eth0 via= gw= master=[192.168.12.2,fd00:12::2] nomaster=false"},
		{name: "masterIPs with masterRoutes true", opt: routeOpts{MasterIPs: []string{"192.168.12.2"}, MasterRoutes: &on},
			want: "if=eth0 via= gw= master=[192.168.12.2] nomaster=false"},
		{name: "empty masterIPs is not discovery", opt: routeOpts{MasterIPs: []string{}},
			want: "if=eth0 via= gw= master=[] nomaster=false"},

		{name: "bad cluster CIDR", opt: routeOpts{ClusterCIDRs: []string{"10.128.0.0/14", "10.0.0.0/33"}},
			err: []string{`clusterCIDRs[1] "10.0.0.0/33" is not a CIDR`}},
		{name: "cluster CIDR without a prefix length", opt: routeOpts{ClusterCIDRs: []string{"10.128.0.0"}},
			err: []string{`clusterCIDRs[0] "10.128.0.0" is not a CIDR`}},
		{name: "bad service CIDR", opt: routeOpts{ServiceCIDRs: []string{"172.30.0.0/16", "fd00::/64", "services"}},
			err: []string{`serviceCIDRs[2] "services" is not a CIDR`}},
		{name: "bad gateway", opt: routeOpts{Gateway: "192.168.12.x"},
			err: []string{`gateway "192.168.12.x" is not an IP address`}},
		{name: "gateway given as a CIDR", opt: routeOpts{Gateway: "192.168.12.1/24"},
			err: []string{`gateway "192.168.12.1/24"`}},
		{name: "bad master IP", opt: routeOpts{MasterIPs: []string{"192.168.12.2", "master"}},
			err: []string{`masterIPs[1] "master" is not an IP address`}},
		{name: "masterRoutes false with masterIPs", opt: routeOpts{MasterIPs: []string{"192.168.12.2"}, MasterRoutes: &off},
			err: []string{"masterIPs [192.168.12.2] is set but masterRoutes is false"}},
		{name: "cluster interface with a slash", opt: routeOpts{ClusterInterface: "eth0/1"},
			err: []string{`clusterInterface "eth0/1" is not a valid interface name`}},
		{name: "cluster interface of 16 characters", opt: routeOpts{ClusterInterface: "abcdefghijklmnop"},
			err: []string{`clusterInterface "abcdefghijklmnop"`, "1-15 characters"}},
		{name: "cluster interface with a space", opt: routeOpts{ClusterInterface: "eth 0"},
			err: []string{`clusterInterface "eth 0"`, "white space"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := c.opt.settings()
			if c.err != nil {
				if err == nil {
					t.Fatalf("no error; config %s", describeRoutes(cfg))
				}
				cnierrtest.Want(t, err, 7, c.err...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := describeRoutes(cfg); got != c.want {
				t.Errorf("config\n %s\nwant\n %s", got, c.want)
			}
		})
	}
}

func TestValidateIfName(t *testing.T) {
	cases := []struct {
		name string
		err  string // fragment; "" = valid
	}{
		{"eth0", ""},
		{"net1", ""},
		{"a", ""},
		{"abcdefghijklmno", ""}, // 15 bytes
		{"br-ex.100_v@x", ""},
		{"...", ""},
		{"", "1-15 characters"},
		{"abcdefghijklmnop", "1-15 characters"},
		{".", "1-15 characters"},
		{"..", "1-15 characters"},
		{"a/b", "no '/', ':' or white space"},
		{"eth0:1", "no '/', ':' or white space"},
		{"eth 0", "white space"},
		{"eth\t0", "white space"},
		{"eth0\n", "white space"},
		{"eth\x000", "white space"},
		{"eth\x7f", "white space"},
	}
	for _, c := range cases {
		err := validIfName("ifName", c.name)
		if c.err == "" {
			if err != nil {
				t.Errorf("validIfName(%q): %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("validIfName(%q) accepted it", c.name)
			continue
		}
		// The message names the field and quotes the value, escaped.
		cnierrtest.Want(t, err, 7, fmt.Sprintf("ifName %q is not a valid interface name", c.name), c.err)
	}
}

// TestParseHelpers covers the field-naming parsers Config is built on.
func TestParseHelpers(t *testing.T) {
	nets, err := parseCIDRs("clusterCIDRs", []string{"10.128.0.0/14", "fd00::/48"})
	if err != nil || len(nets) != 2 || nets[1].String() != "fd00::/48" {
		t.Errorf("parseCIDRs: %v %v", nets, err)
	}
	if nets, err := parseCIDRs("clusterCIDRs", nil); err != nil || nets != nil {
		t.Errorf("parseCIDRs(nil) = %v, %v", nets, err)
	}
	ips, err := parseIPs("masterIPs", []string{"192.168.12.2", "fd00::2"})
	if err != nil || len(ips) != 2 || !ips[0].Equal(net.ParseIP("192.168.12.2")) || ips[1].String() != "fd00::2" {
		t.Errorf("parseIPs: %v %v", ips, err)
	}
	_, err = parseIPs("masterIPs", []string{"fd00::2", "fd00::/64"})
	cnierrtest.Want(t, err, 7, `masterIPs[1] "fd00::/64" is not an IP address`)
}
