package route

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
)

// describe renders a Config on one line; MasterIPs shows "nil" apart from
// an empty list, since nil means "discover the master's addresses".
func describe(c *Config) string {
	join := func(n int, at func(int) string) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, at(i))
		}
		return strings.Join(s, ",")
	}
	master := "nil"
	if c.MasterIPs != nil {
		master = "[" + join(len(c.MasterIPs), func(i int) string { return c.MasterIPs[i].String() }) + "]"
	}
	return fmt.Sprintf("if=%s via=%s gw=%s master=%s nomaster=%v", c.ClusterInterface,
		join(len(c.ViaCluster), func(i int) string { return c.ViaCluster[i].String() }),
		join(len(c.Gateways), func(i int) string { return c.Gateways[i].String() }),
		master, c.NoMasterRoutes)
}

func TestOptionsConfig(t *testing.T) {
	on, off := true, false
	cases := []struct {
		name string
		opt  Options
		want string   // describe(cfg); ignored with err
		err  []string // message fragments
	}{
		{name: "defaults", opt: Options{},
			want: "if=eth0 via= gw= master=nil nomaster=false"},
		{name: "explicit cluster interface", opt: Options{ClusterInterface: "ens3"},
			want: "if=ens3 via= gw= master=nil nomaster=false"},
		{name: "cluster then service CIDRs in order",
			opt:  Options{ClusterCIDRs: []string{"10.128.0.0/14", "fd00:10:128::/56"}, ServiceCIDRs: []string{"172.30.0.0/16", "fd00:172:30::/112"}},
			want: "if=eth0 via=10.128.0.0/14,fd00:10:128::/56,172.30.0.0/16,fd00:172:30::/112 gw= master=nil nomaster=false"},
		{name: "service CIDRs only", opt: Options{ServiceCIDRs: []string{"172.30.0.0/16"}},
			want: "if=eth0 via=172.30.0.0/16 gw= master=nil nomaster=false"},
		{name: "host bits of a CIDR are dropped", opt: Options{ClusterCIDRs: []string{"10.128.1.2/14"}},
			want: "if=eth0 via=10.128.0.0/14 gw= master=nil nomaster=false"},
		{name: "IPv4 gateway", opt: Options{Gateway: "192.168.12.1"},
			want: "if=eth0 via= gw=192.168.12.1 master=nil nomaster=false"},
		{name: "IPv6 gateway with masterRoutes false", opt: Options{Gateway: "fd00:12::1", MasterRoutes: &off},
			want: "if=eth0 via= gw=fd00:12::1 master=nil nomaster=true"},
		{name: "masterRoutes true", opt: Options{MasterRoutes: &on},
			want: "if=eth0 via= gw= master=nil nomaster=false"},
		{name: "masterRoutes false", opt: Options{MasterRoutes: &off},
			want: "if=eth0 via= gw= master=nil nomaster=true"},
		{name: "masterRoutes false with an empty masterIPs", opt: Options{MasterRoutes: &off, MasterIPs: []string{}},
			want: "if=eth0 via= gw= master=[] nomaster=true"},
		{name: "masterIPs", opt: Options{MasterIPs: []string{"192.168.12.2", "fd00:12::2"}},
			want: "if=eth0 via= gw= master=[192.168.12.2,fd00:12::2] nomaster=false"},
		{name: "masterIPs with masterRoutes true", opt: Options{MasterIPs: []string{"192.168.12.2"}, MasterRoutes: &on},
			want: "if=eth0 via= gw= master=[192.168.12.2] nomaster=false"},
		{name: "empty masterIPs is not discovery", opt: Options{MasterIPs: []string{}},
			want: "if=eth0 via= gw= master=[] nomaster=false"},

		{name: "bad cluster CIDR", opt: Options{ClusterCIDRs: []string{"10.128.0.0/14", "10.0.0.0/33"}},
			err: []string{`clusterCIDRs[1] "10.0.0.0/33" is not a CIDR`}},
		{name: "cluster CIDR without a prefix length", opt: Options{ClusterCIDRs: []string{"10.128.0.0"}},
			err: []string{`clusterCIDRs[0] "10.128.0.0" is not a CIDR`}},
		{name: "bad service CIDR", opt: Options{ServiceCIDRs: []string{"172.30.0.0/16", "fd00::/64", "services"}},
			err: []string{`serviceCIDRs[2] "services" is not a CIDR`}},
		{name: "bad gateway", opt: Options{Gateway: "192.168.12.x"},
			err: []string{`gateway "192.168.12.x" is not an IP address`}},
		{name: "gateway given as a CIDR", opt: Options{Gateway: "192.168.12.1/24"},
			err: []string{`gateway "192.168.12.1/24"`}},
		{name: "bad master IP", opt: Options{MasterIPs: []string{"192.168.12.2", "master"}},
			err: []string{`masterIPs[1] "master" is not an IP address`}},
		{name: "masterRoutes false with masterIPs", opt: Options{MasterIPs: []string{"192.168.12.2"}, MasterRoutes: &off},
			err: []string{"masterIPs [192.168.12.2] is set but masterRoutes is false"}},
		{name: "cluster interface with a slash", opt: Options{ClusterInterface: "eth0/1"},
			err: []string{`clusterInterface "eth0/1" is not a valid interface name`}},
		{name: "cluster interface of 16 characters", opt: Options{ClusterInterface: "abcdefghijklmnop"},
			err: []string{`clusterInterface "abcdefghijklmnop"`, "1-15 characters"}},
		{name: "cluster interface with a space", opt: Options{ClusterInterface: "eth 0"},
			err: []string{`clusterInterface "eth 0"`, "white space"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := c.opt.Config()
			if c.err != nil {
				if err == nil {
					t.Fatalf("no error; config %s", describe(cfg))
				}
				cnierrtest.Want(t, err, 7, c.err...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := describe(cfg); got != c.want {
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
		err := ValidateIfName("ifName", c.name)
		if c.err == "" {
			if err != nil {
				t.Errorf("ValidateIfName(%q): %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidateIfName(%q) accepted it", c.name)
			continue
		}
		// The message names the field and quotes the value, escaped.
		cnierrtest.Want(t, err, 7, fmt.Sprintf("ifName %q is not a valid interface name", c.name), c.err)
	}
}

// TestParseHelpers covers the field-naming parsers Config is built on.
func TestParseHelpers(t *testing.T) {
	nets, err := ParseCIDRs("clusterCIDRs", []string{"10.128.0.0/14", "fd00::/48"})
	if err != nil || len(nets) != 2 || nets[1].String() != "fd00::/48" {
		t.Errorf("ParseCIDRs: %v %v", nets, err)
	}
	if nets, err := ParseCIDRs("clusterCIDRs", nil); err != nil || nets != nil {
		t.Errorf("ParseCIDRs(nil) = %v, %v", nets, err)
	}
	ips, err := ParseIPs("masterIPs", []string{"192.168.12.2", "fd00::2"})
	if err != nil || len(ips) != 2 || !ips[0].Equal(net.ParseIP("192.168.12.2")) || ips[1].String() != "fd00::2" {
		t.Errorf("ParseIPs: %v %v", ips, err)
	}
	_, err = ParseIPs("masterIPs", []string{"fd00::2", "fd00::/64"})
	cnierrtest.Want(t, err, 7, `masterIPs[1] "fd00::/64" is not an IP address`)
}
