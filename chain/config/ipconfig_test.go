package config

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/policy"
)

func ipConfigConf(overrides string) string {
	s := `{"cniVersion":"1.0.0","name":"er","type":"egress-router","interfaceArgs":{"master":"ens4"},"ipConfig":{"name":"egress-file"`
	if overrides != "" {
		s += `,"overrides":` + overrides
	}
	return s + `}}`
}

func TestIPConfig(t *testing.T) {
	const allowList = `{"addresses":["192.168.12.99/24","192.168.12.98"],"gateway":"192.168.12.1","destinations":["80 tcp 203.0.113.5 8080","53 udp 203.0.113.53","192.168.12.91"]}`
	cases := []struct {
		name      string
		conf      string
		env       Env
		code      uint
		frags     []string
		addrs     string
		gws       string
		dests     string
		dropped   string
		fieldFrag string
	}{
		{name: "ip entry, no overrides", conf: ipConfigConf(""),
			env:   Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1","destinations":["192.168.12.91"]}`}},
			addrs: "192.168.12.99/24", gws: "192.168.12.1", dests: "192.168.12.91", fieldFrag: "ipConfig ConfigMap egress/egress-file"},
		{name: "namespace given in the config", conf: strings.Replace(ipConfigConf(""), `"name":"egress-file"`, `"namespace":"routers","name":"egress-file"`, 1),
			env:   Env{PodNamespace: "egress", Policy: mustPolicy(`{"configMapNamespaces": ["routers"]}`), IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1"}`}},
			addrs: "192.168.12.99/24", fieldFrag: "routers/egress-file"},
		{name: "another namespace by default", conf: strings.Replace(ipConfigConf(""), `"name":"egress-file"`, `"namespace":"routers","name":"egress-file"`, 1),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1"}`}},
			code: 7, frags: []string{`ipConfig.namespace "routers"`, `pod's namespace "egress"`}},
		{name: "no namespace anywhere", conf: ipConfigConf(""), env: Env{IPConfigData: map[string]string{}},
			code: 4, frags: []string{"ipConfig.namespace", "K8S_POD_NAMESPACE"}},
		{name: "no name", conf: strings.Replace(ipConfigConf(""), `"name":"egress-file"`, `"namespace":"x"`, 1),
			code: 7, frags: []string{"ipConfig.name: missing"}},
		{name: "podIP entry chosen by pod name", conf: ipConfigConf(""),
			env:   Env{PodName: "router-b", PodNamespace: "egress", IPConfigData: map[string]string{"podIP": `{"router-a":{"addresses":["192.168.12.97/24"]},"router-b":{"addresses":["192.168.12.96/24"],"gateway":"192.168.12.1"}}`}},
			addrs: "192.168.12.96/24"},
		{name: "podIP without the pod", conf: ipConfigConf(""),
			env:  Env{PodName: "router-c", PodNamespace: "egress", IPConfigData: map[string]string{"podIP": `{"router-a":{"addresses":["192.168.12.97/24"]}}`}},
			code: 7, frags: []string{"egress/egress-file", `no entry for pod "router-c"`, "router-a"}},
		{name: "both ip and podIP", conf: ipConfigConf(""),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{}`, "podIP": `{}`}},
			code: 7, frags: []string{"both ip and podIP"}},
		{name: "neither entry", conf: ipConfigConf(""),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"addresses": "x"}},
			code: 7, frags: []string{"neither an ip nor a podIP", "addresses"}},
		{name: "entry not JSON", conf: ipConfigConf(""),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `addresses: [1.2.3.4`}},
			code: 7, frags: []string{"egress/egress-file: ip"}},
		{name: "allowed address, forced gateway, default destinations", conf: ipConfigConf(allowList),
			env:   Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"]}`}},
			addrs: "192.168.12.99/24", gws: "192.168.12.1", dests: "80 tcp 203.0.113.5 8080|53 udp 203.0.113.53|192.168.12.91"},
		{name: "bare allow entry, the egress subnet not known yet (checked at Resolve)", conf: ipConfigConf(allowList),
			env:   Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.98/24"],"gateway":"192.168.12.1"}`}},
			addrs: "192.168.12.98/24", gws: "192.168.12.1"},
		{name: "bare allow entry with the policy's egress subnet's prefix", conf: ipConfigConf(allowList),
			env:   Env{PodNamespace: "egress", Policy: mustPolicy(`{"egressSubnets": ["192.168.12.0/24"]}`), IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.98/24"],"gateway":"192.168.12.1"}`}},
			addrs: "192.168.12.98/24"},
		{name: "bare allow entry as a host address", conf: ipConfigConf(allowList),
			env:   Env{PodNamespace: "egress", Policy: mustPolicy(`{"egressSubnets": ["192.168.12.0/24"]}`), IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.98"],"gateway":"192.168.12.1"}`}},
			addrs: "192.168.12.98/32"},
		{name: "bare allow entry does not admit a wider prefix", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", Policy: mustPolicy(`{"egressSubnets": ["192.168.12.0/24"]}`), IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.98/1"],"gateway":"192.168.12.1"}`}},
			code: 7, frags: []string{`address "192.168.12.98/1"`, "without a prefix", "[24 32]"}},
		{name: "address outside the allow list", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.50/24"]}`}},
			code: 7, frags: []string{"egress/egress-file", `address "192.168.12.50/24"`, "ipConfig.overrides.addresses"}},
		{name: "allowed IP with another prefix", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/25"]}`}},
			code: 7, frags: []string{`"192.168.12.99/25"`}},
		{name: "another gateway", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.254"}`}},
			code: 7, frags: []string{`gateway "192.168.12.254"`, "ipConfig.overrides.gateway", "may not change"}},
		{name: "no addresses with an allow list", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"gateway":"192.168.12.1"}`}},
			code: 7, frags: []string{"assigns no addresses"}},
		{name: "destinations intersected", conf: ipConfigConf(allowList),
			env: Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],
				"destinations":["443 tcp 203.0.113.9","53 UDP 203.0.113.53","192.168.12.91"]}`}},
			dests: "53 udp 203.0.113.53|192.168.12.91", dropped: "443 tcp 203.0.113.9"},
		{name: "no destination survives", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],"destinations":["443 tcp 203.0.113.9"]}`}},
			code: 7, frags: []string{"none of its destinations", "443 tcp 203.0.113.9"}},
		{name: "bad ConfigMap destination", conf: ipConfigConf(allowList),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"],"destinations":["80 icmp 203.0.113.9"]}`}},
			code: 7, frags: []string{"egress/egress-file: destinations", "icmp"}},
		{name: "bad override destination", conf: ipConfigConf(`{"destinations":["80 tcp 203.0.113.0/24"]}`),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.99/24"]}`}},
			code: 7, frags: []string{"ipConfig.overrides.destinations", "203.0.113.0/24"}},
		{name: "ipConfig address still validated", conf: ipConfigConf(""),
			env:  Env{PodNamespace: "egress", IPConfigData: map[string]string{"ip": `{"addresses":["192.168.12.0/24"]}`}},
			code: 7, frags: []string{"egress/egress-file.addresses[0]", "network address"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRouter([]byte(c.conf), c.env)
			if c.code != 0 {
				cnierrtest.Want(t, err, c.code, c.frags...)
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			gws := []string{}
			for _, g := range got.Gateways {
				gws = append(gws, g.String())
			}
			for what, pair := range map[string][2]string{
				"addresses": {strings.Join(got.AddrStrings(), "|"), c.addrs}, "gateways": {strings.Join(gws, "|"), c.gws},
				"destinations": {strings.Join(got.Destinations.Lines(), "|"), c.dests},
			} {
				if pair[1] != "" && pair[0] != pair[1] {
					t.Errorf("%s %q, want %q", what, pair[0], pair[1])
				}
			}
			if c.fieldFrag != "" && !strings.Contains(got.Field, c.fieldFrag) {
				t.Errorf("field %q lacks %q", got.Field, c.fieldFrag)
			}
			if c.dropped != "" && strings.Join(got.Dropped, "|") != c.dropped {
				t.Errorf("dropped %q, want %q", got.Dropped, c.dropped)
			}
		})
	}
}

func TestKubeconfigPath(t *testing.T) {
	path := func(n *RouterConf) string { p, _ := n.kubeconfigPath(); return p }
	n := &RouterConf{}
	if path(n) != DefaultKubeconfig {
		t.Errorf("default %q", path(n))
	}
	n.Kubeconfig = "/etc/kube.conf"
	if path(n) != "/etc/kube.conf" {
		t.Errorf("top level %q", path(n))
	}
	n.IPConfig = &IPConfig{Kubeconfig: "/etc/ipconfig.conf"}
	if path(n) != "/etc/ipconfig.conf" {
		t.Errorf("ipConfig's %q", path(n))
	}
}

// TestBarePrefixesAtResolve: without egress subnets in the policy, a bare
// allow-list address is held to the master's subnets once Resolve knows
// the master.
func TestBarePrefixesAtResolve(t *testing.T) {
	_, master, _ := net.ParseCIDR("192.168.12.0/24")
	c := &Router{Field: "ipConfig ConfigMap egress/egress-file"}
	pol := policy.Default()
	for addr, ok := range map[string]bool{"192.168.12.98/24": true, "192.168.12.98/32": true, "192.168.12.98/1": false, "192.168.12.98/23": false} {
		err := c.barePrefixes(pol, []string{addr}, []*net.IPNet{master})
		if ok != (err == nil) {
			t.Errorf("%s: %v", addr, err)
		}
		if err != nil {
			cnierrtest.Want(t, err, 7, fmt.Sprintf("address %q", addr), "[24 32]")
		}
	}
	// Before the master is known, nothing is decided.
	if err := c.barePrefixes(pol, []string{"192.168.12.98/1"}, nil); err != nil {
		t.Errorf("without subnets: %v", err)
	}
}
