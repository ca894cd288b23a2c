package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/plan"
)

const podNS = "/var/run/netns/pod"

// describe renders an Egress as "ifname: addr gw, addr gw".
func describe(e *plan.Egress) string {
	var s []string
	for i, a := range e.Addrs {
		s = append(s, fmt.Sprintf("%s %v", a, e.Gateways[i]))
	}
	return e.IfName + ": " + strings.Join(s, ", ")
}

// netConf decodes a plugin config the way skel hands it to the plugin.
func netConf(t *testing.T, js string) *types.NetConf {
	t.Helper()
	var conf types.NetConf
	if err := json.Unmarshal([]byte(js), &conf); err != nil {
		t.Fatal(err)
	}
	return &conf
}

func TestPrevResult(t *testing.T) {
	const ifaces = `"interfaces": [{"name": "net1"}, {"name": "net1", "sandbox": "/var/run/netns/pod"}]`
	cases := []struct {
		name string
		conf string
		want string // describe(Find(prevResult, podNS, "net1"))
		err  []string
	}{
		{name: "0.3.1 result",
			conf: `{"cniVersion": "0.3.1", "name": "egress", "type": "egress-nat", "prevResult": {` + ifaces + `,
				"ips": [{"version": "4", "interface": 1, "address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}}`,
			want: "net1: 192.168.12.99/24 192.168.12.1"},
		{name: "0.4.0 result",
			conf: `{"cniVersion": "0.4.0", "name": "egress", "type": "egress-nat", "prevResult": {"cniVersion": "0.4.0", ` + ifaces + `,
				"ips": [{"version": "4", "interface": 0, "address": "10.9.9.9/24"},
				        {"version": "4", "interface": 1, "address": "192.168.12.99/24", "gateway": "192.168.12.1"},
				        {"version": "6", "interface": 1, "address": "fd00:12::99/64"}],
				"dns": {}}}`,
			want: "net1: 192.168.12.99/24 192.168.12.1, fd00:12::99/64 <nil>"},
		{name: "1.0.0 result",
			conf: `{"cniVersion": "1.0.0", "name": "egress", "type": "egress-nat", "prevResult": {"cniVersion": "1.0.0", ` + ifaces + `,
				"ips": [{"interface": 1, "address": "fd00:12::99/64", "gateway": "fd00:12::1"},
				        {"interface": 1, "address": "192.168.12.99/24"}]}}`,
			want: "net1: fd00:12::99/64 fd00:12::1, 192.168.12.99/24 <nil>"},
		{name: "1.1.0 result",
			conf: `{"cniVersion": "1.1.0", "name": "egress", "type": "egress-nat", "prevResult": {"cniVersion": "1.1.0", ` + ifaces + `,
				"ips": [{"interface": 1, "address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}}`,
			want: "net1: 192.168.12.99/24 192.168.12.1"},
		{name: "unparsable address",
			conf: `{"cniVersion": "1.0.0", "name": "egress", "type": "egress-nat", "prevResult": {"cniVersion": "1.0.0", ` + ifaces + `,
				"ips": [{"interface": 1, "address": "not-an-address"}]}}`,
			err: []string{"prevResult: cannot parse", "not-an-address"}},
		{name: "unsupported config version",
			conf: `{"cniVersion": "9.9.9", "name": "egress", "type": "egress-nat", "prevResult": {` + ifaces + `}}`,
			err:  []string{"prevResult: cannot parse", `"9.9.9"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := parsePrev(netConf(t, c.conf))
			if c.err != nil {
				if err == nil {
					t.Fatalf("no error; result %+v", res)
				}
				cnierrtest.Want(t, err, 7, c.err...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if res.CNIVersion != current.ImplementedSpecVersion {
				t.Errorf("converted result has version %q, want %q", res.CNIVersion, current.ImplementedSpecVersion)
			}
			eg, err := plan.FindEgress(res, podNS, "net1")
			if err != nil {
				t.Fatalf("FindEgress: %v", err)
			}
			if got := describe(eg); got != c.want {
				t.Errorf("found %q, want %q", got, c.want)
			}
		})
	}

	res, err := parsePrev(netConf(t, `{"cniVersion": "1.0.0", "name": "egress", "type": "egress-nat"}`))
	if res != nil || err != nil {
		t.Errorf("no prevResult: got %+v, %v; want nil, nil", res, err)
	}
}
