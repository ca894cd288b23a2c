package route

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

func TestOptionsConfig(t *testing.T) {
	off := false
	cases := []struct {
		name string
		opt  Options
		err  string // fragment; "" = valid
		via  string // ViaCluster joined by ","
	}{
		{"defaults", Options{}, "", ""},
		{"cluster then service CIDRs", Options{ClusterCIDRs: []string{"10.128.0.0/14"}, ServiceCIDRs: []string{"172.30.0.0/16", "fd00:172:30::/112"}}, "", "10.128.0.0/14,172.30.0.0/16,fd00:172:30::/112"},
		{"bad cluster CIDR", Options{ClusterCIDRs: []string{"10.128.0.0/14", "10.0.0.0/33"}}, `clusterCIDRs[1] "10.0.0.0/33" is not a CIDR`, ""},
		{"bad service CIDR", Options{ServiceCIDRs: []string{"172.30.0.0"}}, `serviceCIDRs[0] "172.30.0.0"`, ""},
		{"bad gateway", Options{Gateway: "192.168.12.x"}, `gateway "192.168.12.x"`, ""},
		{"bad master IP", Options{MasterIPs: []string{"1.2.3.4", "host"}}, `masterIPs[1] "host"`, ""},
		{"masterRoutes false with masterIPs", Options{MasterIPs: []string{"1.2.3.4"}, MasterRoutes: &off}, "masterRoutes is false", ""},
		{"cluster interface with slash", Options{ClusterInterface: "eth0/1"}, `clusterInterface "eth0/1"`, ""},
		{"cluster interface too long", Options{ClusterInterface: "abcdefghijklmnop"}, "1-15 characters", ""},
		{"cluster interface with space", Options{ClusterInterface: "eth 0"}, "white space", ""},
	}
	for _, c := range cases {
		cfg, err := c.opt.Config()
		if c.err != "" {
			var te *types.Error
			if !errors.As(err, &te) || te.Code != 7 || !strings.Contains(te.Msg, c.err) {
				t.Errorf("%s: error %v, want code 7 with %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var via []string
		for _, n := range cfg.ViaCluster {
			via = append(via, n.String())
		}
		if got := strings.Join(via, ","); got != c.via {
			t.Errorf("%s: ViaCluster %q, want %q", c.name, got, c.via)
		}
		if cfg.ClusterInterface != "eth0" || cfg.NoMasterRoutes || cfg.MasterIPs != nil {
			t.Errorf("%s: defaults %+v", c.name, cfg)
		}
	}
	cfg, err := (&Options{MasterRoutes: &off, Gateway: "fd00:12::1"}).Config()
	if err != nil || !cfg.NoMasterRoutes || len(cfg.Gateways) != 1 || cfg.Gateways[0].String() != "fd00:12::1" {
		t.Errorf("masterRoutes false and a v6 gateway: %+v %v", cfg, err)
	}
	cfg, err = (&Options{MasterIPs: []string{"192.168.12.2"}}).Config()
	if err != nil || len(cfg.MasterIPs) != 1 || cfg.MasterIPs[0].String() != "192.168.12.2" {
		t.Errorf("explicit masterIPs: %+v %v", cfg, err)
	}
}
