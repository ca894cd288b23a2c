package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

// seed001 is seed 001's NAD config with the master named, so rendering
// needs no host lookups.
const seed001 = `{"cniVersion":"0.4.0","type":"egress-router","name":"egress-router",
 "ip":{"addresses":["192.168.12.99/24"],"destinations":["192.168.12.91/32"],"gateway":"192.168.12.1"},
 "interfaceArgs":{"master":"ens4"}}`

func mustParse(t *testing.T, conf string, env Env) *Router {
	t.Helper()
	c, err := ParseRouter([]byte(conf), env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func indent(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConflistSeed001(t *testing.T) {
	c := mustParse(t, seed001, Env{})
	got := indent(t, c.Conflist())
	want := `{
  "cniVersion": "0.4.0",
  "name": "egress-router",
  "plugins": [
    {
      "type": "macvlan",
      "master": "ens4",
      "mode": "bridge",
      "ipam": {
        "type": "static",
        "addresses": [
          {
            "address": "192.168.12.99/24",
            "gateway": "192.168.12.1"
          }
        ]
      }
    },
    {
      "type": "egress-route"
    },
    {
      "type": "egress-nat",
      "destinations": [
        "192.168.12.91"
      ]
    }
  ]
}`
	if got != want {
		t.Fatalf("conflist:\n%s\nwant:\n%s", got, want)
	}
	// libcni, as Multus and cnitool use it, reads it as a three-step chain.
	l, err := libcni.ConfListFromBytes([]byte(got))
	if err != nil {
		t.Fatalf("libcni rejects the conflist: %v", err)
	}
	var types []string
	for _, p := range l.Plugins {
		types = append(types, p.Network.Type)
	}
	if l.Name != "egress-router" || l.CNIVersion != "0.4.0" || strings.Join(types, ",") != "macvlan,egress-route,egress-nat" {
		t.Errorf("libcni read name %q version %q plugins %v", l.Name, l.CNIVersion, types)
	}
}

func TestConflistCarriesEveryOption(t *testing.T) {
	c := mustParse(t, `{"cniVersion":"1.1.0","name":"dual","type":"egress-router","interfaceType":"ipvlan",
	  "interfaceArgs":{"master":"bond0","mode":"L3","mtu":"9000"},
	  "ip":{"addresses":["2001:db8:1::99/64","192.168.12.99/24"],"gateway":["2001:db8:1::1","192.168.12.1"],
	        "destinations":["80 TCP 203.0.113.5 8080","80 tcp 2001:db8:9::5"],"fallbackIP":"203.0.113.9"},
	  "clusterInterface":"eth1","clusterCIDRs":["10.128.0.0/14"],"serviceCIDRs":["172.30.0.0/16"],
	  "log_file":"/var/log/egress.log","log_level":"info"}`, Env{IfName: "egress0"})
	l, err := libcni.ConfListFromBytes([]byte(indent(t, c.Conflist())))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Plugins) != 3 {
		t.Fatalf("%d plugins", len(l.Plugins))
	}
	var ifc struct {
		Type, Master, Mode string
		MTU                int
		IPAM               struct {
			Type      string
			Addresses []struct{ Address, Gateway string }
		}
	}
	if err := json.Unmarshal(l.Plugins[0].Bytes, &ifc); err != nil {
		t.Fatal(err)
	}
	if ifc.Type != "ipvlan" || ifc.Master != "bond0" || ifc.Mode != "l3" || ifc.MTU != 9000 || ifc.IPAM.Type != "static" {
		t.Errorf("interface step %s", l.Plugins[0].Bytes)
	}
	// static gets IPv4 first, each address with its own family's gateway.
	if got := indent(t, ifc.IPAM.Addresses); got != indent(t, []struct{ Address, Gateway string }{
		{"192.168.12.99/24", "192.168.12.1"}, {"2001:db8:1::99/64", "2001:db8:1::1"}}) {
		t.Errorf("static addresses %s", got)
	}
	var rt map[string]any
	if err := json.Unmarshal(l.Plugins[1].Bytes, &rt); err != nil {
		t.Fatal(err)
	}
	if rt["clusterInterface"] != "eth1" || len(rt["clusterCIDRs"].([]any)) != 1 || len(rt["serviceCIDRs"].([]any)) != 1 ||
		rt["log_file"] != "/var/log/egress.log" || rt["log_level"] != "info" {
		t.Errorf("route step %s", l.Plugins[1].Bytes)
	}
	var nt struct {
		Type             string
		ClusterInterface string
		Destinations     []string
		LogLevel         string `json:"log_level"`
	}
	if err := json.Unmarshal(l.Plugins[2].Bytes, &nt); err != nil {
		t.Fatal(err)
	}
	// The operator's separate fallbackIP becomes the last line.
	if nt.Type != "egress-nat" || nt.ClusterInterface != "eth1" || nt.LogLevel != "info" ||
		strings.Join(nt.Destinations, "|") != "80 tcp 203.0.113.5 8080|80 tcp 2001:db8:9::5|203.0.113.9" {
		t.Errorf("nat step %s", l.Plugins[2].Bytes)
	}
}

func TestConflistWithoutDestinationsHasNoNATStep(t *testing.T) {
	c := mustParse(t, `{"cniVersion":"1.0.0","name":"r","type":"egress-router","ip":{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1"}}`, Env{})
	l := c.Conflist()
	if len(l.Plugins) != 2 {
		t.Fatalf("plugins %s, want the interface and route steps only", indent(t, l.Plugins))
	}
}

func TestDelegateConfIsAStandaloneConfig(t *testing.T) {
	c := mustParse(t, seed001, Env{})
	b := []byte(indent(t, c.DelegateConf()))
	//lint:ignore SA1019 Multus v4.3 loads a single-plugin config with ConfFromBytes; test what it does
	conf, err := libcni.ConfFromBytes(b)
	if err != nil {
		t.Fatalf("libcni rejects the delegate config: %v", err)
	}
	if conf.Network.Name != "egress-router" || conf.Network.CNIVersion != "0.4.0" || conf.Network.Type != "macvlan" || conf.Network.IPAM.Type != "static" {
		t.Errorf("delegate config %s", b)
	}
	if bytes.Contains(b, []byte("prevResult")) || bytes.Contains(b, []byte("valid-attachments")) {
		t.Errorf("ADD's delegate config carries CHECK/GC fields: %s", b)
	}
}

func TestDryRunSeed001(t *testing.T) {
	c := mustParse(t, seed001, Env{})
	var out bytes.Buffer
	if err := c.DryRun(&out); err != nil {
		t.Fatal(err)
	}
	want := `# interface: upstream macvlan with static IPAM, master ens4
{
  "cniVersion": "0.4.0",
  "name": "egress-router",
  "type": "macvlan",
  "master": "ens4",
  "mode": "bridge",
  "ipam": {
    "type": "static",
    "addresses": [
      {
        "address": "192.168.12.99/24",
        "gateway": "192.168.12.1"
      }
    ]
  }
}
# handover: first, ARP probes for 192.168.12.99 on the master; ADD waits while another host answers (node policy: addressProbeMillis, childTimeoutSeconds)

# routes in the pod, main table, proto 69; eth0's default routes move to table 17746
192.168.12.1 dev net1 scope link
default via 192.168.12.1 dev net1

# policy rules: replies to connections that arrived on eth0 leave through it
17745: fwmark 0x20000000/0x20000000 lookup 254 suppress_prefixlength 0 (IPv4)
17746: fwmark 0x20000000/0x20000000 lookup 17746 (IPv4)

# nftables (backend auto: iptables instead if the pod already has legacy iptables NAT), forwarding on: net.ipv4.ip_forward=1
table ip egress-net1
  prerouting: iifname eth0 dnat to 192.168.12.91
  postrouting: oifname net1 snat to 192.168.12.99
  mark-in: iifname eth0 ct state new ct mark set ct mark | 0x20000000
  mark-in: ct direction reply ct mark & 0x20000000 != 0 meta mark set meta mark | 0x20000000
  mark-out: ct direction reply ct mark & 0x20000000 != 0 meta mark set meta mark | 0x20000000
`
	if out.String() != want {
		t.Errorf("dry run:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestDryRunDualStackWithClusterRoutes(t *testing.T) {
	c := mustParse(t, `{"cniVersion":"1.0.0","name":"r","type":"egress-router",
	  "ip":{"addresses":["192.168.12.99/24","2001:db8:1::99/64"],"gateway":"192.168.12.1",
	        "destinations":["8080 tcp 203.0.113.5 80","2001:db8:9::5"]},
	  "clusterCIDRs":["10.128.0.0/14"],"masterIPs":["192.168.12.5"],"backend":"iptables"}`, Env{})
	var out bytes.Buffer
	if err := c.DryRun(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"master inferred on the node at ADD",
		"10.128.0.0/14 via <eth0 gateway> dev eth0",
		"192.168.12.5 via <eth0 gateway> dev eth0",
		"default via 192.168.12.1 dev net1",
		"# IPv6 gateway: inferred on the node at ADD",
		"# iptables -t nat -S (forwarding on: net.ipv4.ip_forward=1)",
		"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.5:80",
		"# ip6tables -t nat -S (forwarding on: net.ipv6.conf.all.forwarding=1)",
		"-A EGRESS-SNAT-net1 -j SNAT --to-source 2001:db8:1::99",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("dry run lacks %q:\n%s", line, out.String())
		}
	}
}

func TestDryRunRoutesOnly(t *testing.T) {
	c := mustParse(t, `{"cniVersion":"1.0.0","name":"r","type":"egress-router","ip":{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1"}}`, Env{})
	var out bytes.Buffer
	if err := c.DryRun(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# NAT: none") || strings.Contains(out.String(), "iptables") {
		t.Errorf("dry run:\n%s", out.String())
	}
}

func TestDryRunNFTables(t *testing.T) {
	c := mustParse(t, `{"cniVersion":"1.0.0","name":"r","type":"egress-router","backend":"NFTables",
	  "ip":{"addresses":["192.168.12.99/24","2001:db8:1::99/64"],"gateway":"192.168.12.1",
	        "destinations":["8080 tcp 203.0.113.5 80","53 UDP 2001:db8:9::53"]}}`, Env{})
	var out bytes.Buffer
	if err := c.DryRun(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"# nftables, forwarding on: net.ipv4.ip_forward=1",
		"table ip egress-net1",
		"  map ports: tcp . 8080 : 203.0.113.5 . 80",
		"  prerouting: iifname eth0 dnat to l4proto . dport map @ports (1 ports)",
		"  postrouting: oifname net1 snat to 192.168.12.99",
		"table ip6 egress-net1",
		"  map ports: udp . 53 : 2001:db8:9::53 . 53",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("dry run lacks %q:\n%s", line, out.String())
		}
	}
	// The backend survives rendering.
	if l := c.Conflist(); !strings.Contains(indent(t, l), `"backend": "nftables"`) {
		t.Errorf("conflist lost the backend: %s", indent(t, l))
	}
}
