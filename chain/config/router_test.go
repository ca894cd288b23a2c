package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/policy"
)

// operatorNAD is the operator's rendered spec.config for a typical
// EgressRouter CR, byte for byte: YAML folding leaves runs of spaces and
// two real newlines inside the JSON.
const operatorNAD = `{ "cniVersion": "0.4.0", "type": "egress-router", "name": "egress-router-cni-nad", "ip": { "addresses": [ "192.168.3.10/24" ], "destinations": ["80 UDP 10.0.0.99","8080 TCP 203.0.113.26 80","8443 TCP 203.0.113.27 443"],
"fallbackIP": "192.168.12.99",
"gateway": "192.168.3.1" }, "log_file": "/tmp/egress-router-log", "log_level": "debug" }`

// withIP wraps an `ip` object and extra top-level members into a
// complete config.
func withIP(ip string, extra ...string) string {
	s := `{"cniVersion":"1.0.0","name":"er","type":"egress-router","ip":` + ip
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// seed001IP is seed 001's ip object with a substitutable destinations.
func destIP(dests string) string {
	return `{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1","destinations":` + dests + `}`
}

// want describes an accepted config; empty fields are not compared.
type want struct {
	field, iface, master   string
	mtu                    int
	addrs, gateways, dests []string
	noRules                bool
	logFile, logLevel      string
	clusterIf              string
	viaCluster             int // number of cluster CIDRs routed via eth0; -1 to skip
	version                string
	ifName                 string
}

type configCase struct {
	name string
	conf string
	env  Env
	// code 0 means the config is accepted and checked against ok.
	code  uint
	frags []string
	ok    want
}

var configCases = []configCase{
	// The seed shapes.
	{name: "seed 000 cnitool config", conf: `{
   "cniVersion":"0.4.0",
   "name":"egress-router",
   "type":"egress-router",
   "ip":{
      "addresses":[
         "192.168.10.99/24"
      ],
      "destinations":[
         "10.0.3.0/32"
      ],
      "gateway":"192.168.10.254"
   }
}`, ok: want{field: "ip", iface: "macvlan bridge", addrs: []string{"192.168.10.99/24"}, gateways: []string{"192.168.10.254"},
		dests: []string{"10.0.3.0"}, version: "0.4.0"}},
	{name: "seed 000 NAD, bare address", conf: `{
    "cniVersion": "0.4.0",
    "type": "egress-router",
    "name": "egress-router",
    "ip": {
      "addresses": [
        "192.168.123.99"
        ],
      "destinations": [
        "192.168.123.91"
      ],
      "gateway": "192.168.123.1"
      }
    }`, ok: want{addrs: []string{"192.168.123.99/32"}, gateways: []string{"192.168.123.1"}, dests: []string{"192.168.123.91"}}},
	{name: "seed 001 redirect NAD", conf: `{
    "cniVersion": "0.4.0",
    "type": "egress-router",
    "name": "egress-router",
    "ip": {
      "addresses": [
        "192.168.12.99/24"
        ],
      "destinations": [
        "192.168.12.91/32"
        ],
      "gateway": "192.168.12.1"
      }
    }`, ok: want{field: "ip", iface: "macvlan bridge", addrs: []string{"192.168.12.99/24"}, gateways: []string{"192.168.12.1"},
		dests: []string{"192.168.12.91"}, clusterIf: "eth0", ifName: "net1"}},
	{name: "seed 002 as printed (trailing comma)", conf: `{
    "type": "egress-router",
    "ip": {
      "addresses": ["10.10.10.230"],
      }
    }`, code: 6, frags: []string{"invalid character"}},
	{name: "seed 002 repaired: no gateway, no destinations", conf: `{
    "cniVersion": "1.0.0", "name": "egress-router",
    "type": "egress-router",
    "ip": {
      "addresses": ["10.10.10.230"]
      }
    }`, ok: want{addrs: []string{"10.10.10.230/32"}, gateways: []string{}, dests: []string{}, noRules: true}},
	{name: "seed 002 repaired without a name", conf: `{"cniVersion":"1.0.0","type":"egress-router","ip":{"addresses":["10.10.10.230"]}}`,
		code: 7, frags: []string{"name: missing"}},

	// The operator's rendered shape.
	{name: "operator rendered NAD, exact string", conf: operatorNAD, ok: want{
		addrs: []string{"192.168.3.10/24"}, gateways: []string{"192.168.3.1"},
		dests:   []string{"80 udp 10.0.0.99", "8080 tcp 203.0.113.26 80", "8443 tcp 203.0.113.27 443", "192.168.12.99"},
		logFile: "/tmp/egress-router-log", logLevel: "debug", version: "0.4.0"}},
	{name: "operator shape at 1.0.0", conf: strings.Replace(operatorNAD, `"0.4.0"`, `"1.0.0"`, 1),
		ok: want{version: "1.0.0", dests: []string{"80 udp 10.0.0.99", "8080 tcp 203.0.113.26 80", "8443 tcp 203.0.113.27 443", "192.168.12.99"}}},
	{name: "operator shape at 1.1.0", conf: strings.Replace(operatorNAD, `"0.4.0"`, `"1.1.0"`, 1), ok: want{version: "1.1.0"}},
	{name: "operator shape without fallbackIP", conf: strings.Replace(operatorNAD, "\n\"fallbackIP\": \"192.168.12.99\",", "", 1),
		ok: want{dests: []string{"80 udp 10.0.0.99", "8080 tcp 203.0.113.26 80", "8443 tcp 203.0.113.27 443"}}},
	{name: "operator shape with no rules, fallback only",
		conf: `{ "cniVersion": "0.4.0", "type": "egress-router", "name": "egress-router-cni-nad", "ip": { "addresses": [ "192.168.3.10/24" ], "destinations": [],
"fallbackIP": "192.168.12.99",
"gateway": "192.168.3.1" }, "log_file": "/tmp/egress-router-log", "log_level": "debug" }`,
		ok: want{dests: []string{"192.168.12.99"}}},
	{name: "operator shape with no rules and no fallback routes only",
		conf: `{ "cniVersion": "0.4.0", "type": "egress-router", "name": "egress-router-cni-nad", "ip": { "addresses": [ "192.168.3.10/24" ], "destinations": [],
"gateway": "192.168.3.1" }, "log_file": "/tmp/egress-router-log", "log_level": "debug" }`,
		ok: want{dests: []string{}, noRules: true}},
	{name: "operator gateway that is not an IP", conf: strings.Replace(operatorNAD, `"192.168.3.1"`, `"192.168.3.x"`, 1),
		code: 7, frags: []string{"ip.gateway", `"192.168.3.x"`}},

	// Legacy destination syntax.
	{name: "destinations: comments, blank lines, extra spaces",
		conf: withIP(destIP(`["# web", "", "  80   tcp  203.0.113.5  ", "8443 TCP 203.0.113.6 443  # tls", "   ", "203.0.113.9"]`)),
		ok:   want{dests: []string{"80 tcp 203.0.113.5", "8443 tcp 203.0.113.6 443", "203.0.113.9"}}},
	{name: "destinations: one multi-line string as EGRESS_DESTINATION",
		conf: withIP(destIP(`"80 tcp 203.0.113.5\n\n# comment\n53 udp 203.0.113.53\n203.0.113.9\n"`)),
		ok:   want{dests: []string{"80 tcp 203.0.113.5", "53 udp 203.0.113.53", "203.0.113.9"}}},
	{name: "destinations: same port, different protocols",
		conf: withIP(destIP(`["53 tcp 203.0.113.53", "53 udp 203.0.113.54"]`)),
		ok:   want{dests: []string{"53 tcp 203.0.113.53", "53 udp 203.0.113.54"}}},
	{name: "destinations: sctp in upper case",
		conf: withIP(destIP(`["3868 SCTP 203.0.113.7"]`)), ok: want{dests: []string{"3868 sctp 203.0.113.7"}}},
	{name: "destinations: fallback not last",
		conf: withIP(destIP(`["203.0.113.9", "80 tcp 203.0.113.5"]`)),
		code: 7, frags: []string{"ip.destinations[1]", `"80 tcp 203.0.113.5"`, `fallback "203.0.113.9" must be the last`}},
	{name: "destinations: duplicate local port",
		conf: withIP(destIP(`["80 tcp 203.0.113.5", "80 TCP 203.0.113.6 8080"]`)),
		code: 7, frags: []string{"ip.destinations[1]", "local port 80/tcp", `"80 tcp 203.0.113.5"`}},
	{name: "destinations: port 0", conf: withIP(destIP(`["0 tcp 203.0.113.5"]`)),
		code: 7, frags: []string{"ip.destinations[0]", "port 0 is out of range 1-65535"}},
	{name: "destinations: port 65536", conf: withIP(destIP(`["65536 tcp 203.0.113.5"]`)),
		code: 7, frags: []string{"ip.destinations[0]", "port 65536 is out of range"}},
	{name: "destinations: remote port 65536", conf: withIP(destIP(`["80 tcp 203.0.113.5 65536"]`)),
		code: 7, frags: []string{"remote port", "65536"}},
	{name: "destinations: port not a number", conf: withIP(destIP(`["http tcp 203.0.113.5"]`)),
		code: 7, frags: []string{`"http" is not a port number`}},
	{name: "destinations: bad protocol", conf: withIP(destIP(`["80 icmp 203.0.113.5"]`)),
		code: 7, frags: []string{"ip.destinations[0]", `unknown protocol "icmp"`}},
	{name: "destinations: bad IP", conf: withIP(destIP(`["80 tcp 203.0.113.300"]`)),
		code: 7, frags: []string{`"203.0.113.300" is not an IP address`}},
	{name: "destinations: a /24 is not one host", conf: withIP(destIP(`["10.0.3.0/24"]`)),
		code: 7, frags: []string{`"10.0.3.0/24"`, "more than one address"}},
	{name: "destinations: five fields", conf: withIP(destIP(`["80 tcp 203.0.113.5 8080 extra"]`)),
		code: 7, frags: []string{"got 5 fields"}},
	{name: "destinations: two IPv4 fallbacks", conf: withIP(destIP(`["203.0.113.9", "203.0.113.10"]`)),
		code: 7, frags: []string{"second IPv4 fallback", `"203.0.113.9"`}},
	{name: "destinations: fallback line and fallbackIP",
		conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1","destinations":["203.0.113.9"],"fallbackIP":"203.0.113.10"}`),
		code: 7, frags: []string{"ip.fallbackIP", `"203.0.113.10"`, "both set"}},
	{name: "fallbackIP not an address",
		conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.1","fallbackIP":"fallback"}`),
		code: 7, frags: []string{"ip.fallbackIP", `"fallback"`}},
	{name: "destinations: IPv6 destination without an IPv6 address", conf: withIP(destIP(`["80 tcp 2001:db8::5"]`)),
		code: 7, frags: []string{"2001:db8::5", "no IPv6 source address"}},
	{name: "destinations: a number", conf: withIP(destIP(`[80]`)), code: 7, frags: []string{"destinations"}},

	// Interfaces.
	{name: "ipvlan, mode in upper case", conf: withIP(destIP(`[]`), `"interfaceType":"ipvlan"`, `"interfaceArgs":{"master":"ens4","mode":"L3"}`),
		ok: want{iface: "ipvlan l3", master: "ens4"}},
	{name: "ipvlan default mode", conf: withIP(destIP(`[]`), `"interfaceType":"IPVLAN"`), ok: want{iface: "ipvlan l2"}},
	{name: "ipvlan l3s", conf: withIP(destIP(`[]`), `"interfaceType":"ipvlan"`, `"interfaceArgs":{"mode":"l3s"}`), ok: want{iface: "ipvlan l3s"}},
	{name: "macvlan modes as the operator's CR spells them", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mode":"VEPA"}`), ok: want{iface: "macvlan vepa"}},
	{name: "macvlan passthru where the policy allows it", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mode":"Passthru"}`),
		env: Env{Policy: mustPolicy(`{"passthru": true}`)}, ok: want{iface: "macvlan passthru"}},
	{name: "macvlan passthru by default", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mode":"Passthru"}`),
		code: 7, frags: []string{`interfaceArgs.mode "passthru"`, "does not allow it"}},
	{name: "macvlan private", conf: withIP(destIP(`[]`), `"interfaceType":"macvlan"`, `"interfaceArgs":{"mode":"private","master":"br-ex"}`),
		ok: want{iface: "macvlan private", master: "br-ex"}},
	{name: "mtu as a string, as egress-router-cni took it", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mtu":"1400"}`), ok: want{mtu: 1400}},
	{name: "mtu as a number", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mtu":9000}`), ok: want{mtu: 9000}},
	{name: "empty master and mode are defaults", conf: withIP(destIP(`[]`), `"interfaceArgs":{"master":"","mode":""}`),
		ok: want{iface: "macvlan bridge", master: ""}},
	{name: "unknown interfaceType", conf: withIP(destIP(`[]`), `"interfaceType":"aws-elastic-ip"`),
		code: 7, frags: []string{"interfaceType", `"aws-elastic-ip"`, "macvlan or ipvlan"}},
	{name: "ipvlan mode on macvlan", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mode":"l2"}`),
		code: 7, frags: []string{"interfaceArgs.mode", `"l2"`, "bridge, private, vepa, passthru"}},
	{name: "macvlan mode on ipvlan", conf: withIP(destIP(`[]`), `"interfaceType":"ipvlan"`, `"interfaceArgs":{"mode":"bridge"}`),
		code: 7, frags: []string{"interfaceArgs.mode", `"bridge"`, "l2, l3, l3s"}},
	{name: "mtu not a number", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mtu":"jumbo"}`),
		code: 7, frags: []string{"interfaceArgs.mtu", `"jumbo"`}},
	{name: "mtu too small", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mtu":67}`), code: 7, frags: []string{"interfaceArgs.mtu", `"67"`}},
	{name: "mtu too large", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mtu":"65536"}`), code: 7, frags: []string{"interfaceArgs.mtu", `"65536"`}},
	{name: "mtu below IPv6 minimum", conf: withIP(`{"addresses":["2001:db8:1::99/64"]}`, `"interfaceArgs":{"mtu":1200}`),
		code: 7, frags: []string{"interfaceArgs.mtu 1200", "2001:db8:1::99"}},
	{name: "unknown interfaceArgs key", conf: withIP(destIP(`[]`), `"interfaceArgs":{"vlan":"12"}`),
		code: 7, frags: []string{"interfaceArgs.vlan", "master, mode or mtu"}},
	{name: "master with a slash", conf: withIP(destIP(`[]`), `"interfaceArgs":{"master":"eth0/1"}`),
		code: 7, frags: []string{"interfaceArgs.master", `"eth0/1"`}},
	{name: "master too long", conf: withIP(destIP(`[]`), `"interfaceArgs":{"master":"averyveryverylongname"}`),
		code: 7, frags: []string{"interfaceArgs.master", `"averyveryverylongname"`}},
	{name: "interfaceArgs value an object", conf: withIP(destIP(`[]`), `"interfaceArgs":{"mtu":{"v":1}}`),
		code: 7, frags: []string{"invalid network configuration"}},

	// Addresses.
	{name: "dual stack with a gateway per family",
		conf: withIP(`{"addresses":["2001:db8:1::99/64","192.168.12.99/24"],"gateway":["192.168.12.1","2001:db8:1::1"],"destinations":["80 tcp 203.0.113.5","80 tcp 2001:db8:9::5"]}`),
		ok: want{addrs: []string{"192.168.12.99/24", "2001:db8:1::99/64"}, gateways: []string{"192.168.12.1", "2001:db8:1::1"},
			dests: []string{"80 tcp 203.0.113.5", "80 tcp 2001:db8:9::5"}}},
	{name: "IPv6 only, bare address", conf: withIP(`{"addresses":["2001:db8:1::99"],"destinations":["2001:db8:9::5/128"]}`),
		ok: want{addrs: []string{"2001:db8:1::99/128"}, dests: []string{"2001:db8:9::5"}}},
	{name: "no addresses", conf: withIP(`{"gateway":"192.168.12.1"}`), code: 7, frags: []string{"ip.addresses: empty"}},
	{name: "empty addresses", conf: withIP(`{"addresses":[]}`), code: 7, frags: []string{"ip.addresses: empty"}},
	{name: "two IPv4 addresses", conf: withIP(`{"addresses":["192.168.12.99/24","192.168.12.100/24"]}`),
		code: 7, frags: []string{"ip.addresses", "192.168.12.99/24 and 192.168.12.100/24 are both IPv4"}},
	{name: "address not an IP", conf: withIP(`{"addresses":["egress"]}`), code: 7, frags: []string{"ip.addresses[0]", `"egress"`}},
	{name: "address is the network", conf: withIP(`{"addresses":["192.168.12.0/24"]}`),
		code: 7, frags: []string{`"192.168.12.0/24"`, "network address"}},
	{name: "address is the broadcast", conf: withIP(`{"addresses":["192.168.12.255/24"]}`),
		code: 7, frags: []string{`"192.168.12.255/24"`, "broadcast"}},
	{name: "address is loopback", conf: withIP(`{"addresses":["127.0.0.5/8"]}`), code: 7, frags: []string{`"127.0.0.5/8"`, "not a usable unicast"}},
	{name: "address is link-local", conf: withIP(`{"addresses":["fe80::5/64"]}`), code: 7, frags: []string{`"fe80::5/64"`, "not a usable unicast"}},
	{name: "a /31 has no network or broadcast address", conf: withIP(`{"addresses":["192.168.12.0/31"]}`),
		ok: want{addrs: []string{"192.168.12.0/31"}}},

	// Gateways.
	{name: "gateway is the reserved address", conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":"192.168.12.99"}`),
		code: 7, frags: []string{"ip.gateway 192.168.12.99", "reserved address itself"}},
	{name: "IPv6 gateway without an IPv6 address", conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":"2001:db8:1::1"}`),
		code: 7, frags: []string{"ip.gateway 2001:db8:1::1 is IPv6"}},
	{name: "two IPv4 gateways", conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":["192.168.12.1","192.168.12.2"]}`),
		code: 7, frags: []string{"ip.gateway", "several IPv4 gateways"}},
	{name: "gateway is multicast", conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":"224.0.0.1"}`),
		code: 7, frags: []string{"ip.gateway 224.0.0.1", "not a unicast"}},
	{name: "gateway a number", conf: withIP(`{"addresses":["192.168.12.99/24"],"gateway":1}`),
		code: 7, frags: []string{"invalid network configuration", "string or an array"}},

	// Found by FuzzRouter: a bare address skipped the unicast checks.
	{name: "bare unspecified address", conf: withIP(`{"addresses":["0.0.0.0"]}`), code: 7, frags: []string{`ip.addresses[0] "0.0.0.0"`, "not a usable unicast address"}},
	{name: "bare loopback address", conf: withIP(`{"addresses":["127.0.0.1"]}`), code: 7, frags: []string{`"127.0.0.1"`, "not a usable unicast address"}},
	{name: "bare multicast address", conf: withIP(`{"addresses":["ff02::1"]}`), code: 7, frags: []string{`"ff02::1"`, "not a usable unicast address"}},

	// The node's policy: what a namespace admin's config may ask for.
	{name: "reserved address in the cluster network", conf: withIP(destIP(`[]`), `"clusterCIDRs":["192.168.0.0/16"]`),
		code: 7, frags: []string{`ip.addresses "192.168.12.99/24"`, "cluster or service network 192.168.0.0/16"}},
	{name: "reserved address in the service network", conf: withIP(`{"addresses":["172.30.5.5/24"]}`, `"serviceCIDRs":["172.30.0.0/16"]`),
		code: 7, frags: []string{`ip.addresses "172.30.5.5/24"`, "172.30.0.0/16"}},
	{name: "master the policy does not list", conf: withIP(destIP(`[]`), `"interfaceArgs":{"master":"ens9"}`),
		env: Env{Policy: mustPolicy(`{"masters": ["ens4"]}`)}, code: 7, frags: []string{`interfaceArgs.master "ens9"`, "not a master link"}},
	{name: "master the policy lists", conf: withIP(destIP(`[]`), `"interfaceArgs":{"master":"ens4"}`),
		env: Env{Policy: mustPolicy(`{"masters": ["ens4"]}`)}, ok: want{master: "ens4", iface: "macvlan bridge"}},
	{name: "loopback as master", conf: withIP(destIP(`[]`), `"interfaceArgs":{"master":"lo"}`),
		code: 7, frags: []string{`interfaceArgs.master "lo"`}},
	{name: "address outside the policy's egress subnets", conf: withIP(destIP(`[]`)),
		env: Env{Policy: mustPolicy(`{"egressSubnets": ["10.9.0.0/16"]}`)}, code: 7, frags: []string{`ip.addresses "192.168.12.99/24"`, "outside the egress subnets"}},
	{name: "address outside the namespace's limits", conf: withIP(destIP(`[]`)),
		env:  Env{PodNamespace: "team-a", Policy: mustPolicy(`{"namespaces": {"team-a": {"addresses": ["192.168.12.96/31"]}}}`)},
		code: 7, frags: []string{`ip.addresses "192.168.12.99/24"`, `namespace "team-a"`}},
	{name: "address inside the namespace's limits", conf: withIP(`{"addresses":["192.168.12.97/24"],"destinations":["203.0.113.5"]}`),
		env: Env{PodNamespace: "team-a", Policy: mustPolicy(`{"namespaces": {"team-a": {"addresses": ["192.168.12.96/30"], "destinations": ["203.0.113.0/24"]}}}`)},
		ok:  want{addrs: []string{"192.168.12.97/24"}}},
	{name: "destination outside the namespace's limits", conf: withIP(`{"addresses":["192.168.12.97/24"],"destinations":["80 tcp 203.0.113.5","198.51.100.9"]}`),
		env:  Env{PodNamespace: "team-a", Policy: mustPolicy(`{"namespaces": {"team-a": {"addresses": ["192.168.12.96/30"], "destinations": ["203.0.113.0/24"]}}}`)},
		code: 7, frags: []string{"ip.destinations", "198.51.100.9 is outside the destinations"}},
	{name: "namespace the policy does not admit", conf: withIP(destIP(`[]`)),
		env: Env{PodNamespace: "team-b", Policy: mustPolicy(`{"otherNamespaces": "deny"}`)}, code: 7, frags: []string{`namespace "team-b"`}},
	{name: "known key in another case", conf: withIP(destIP(`[]`), `"LOG_FILE":"/tmp/x"`),
		code: 7, frags: []string{"LOG_FILE", `write "log_file"`}},
	{name: "key twice", conf: withIP(destIP(`[]`), `"log_level":"debug"`, `"log_level":"error"`),
		code: 7, frags: []string{"log_level", "twice"}},

	// ip, podIP, ipConfig.
	{name: "podIP chosen by K8S_POD_NAME",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","podIP":{"router-a":{"addresses":["192.168.12.98/24"],"gateway":"192.168.12.1"},"router-b":{"addresses":["192.168.12.97/24"],"destinations":["203.0.113.9"]}}}`,
		env:  Env{PodName: "router-b"},
		ok:   want{field: `podIP["router-b"]`, addrs: []string{"192.168.12.97/24"}, gateways: []string{}, dests: []string{"203.0.113.9"}}},
	{name: "podIP without K8S_POD_NAME",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","podIP":{"router-a":{"addresses":["192.168.12.98/24"]}}}`,
		code: 4, frags: []string{"K8S_POD_NAME", "router-a"}},
	{name: "podIP without an entry for the pod",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","podIP":{"router-a":{"addresses":["192.168.12.98/24"]},"router-b":{"addresses":["192.168.12.97/24"]}}}`,
		env:  Env{PodName: "router-c"}, code: 7, frags: []string{`no entry for pod "router-c"`, "router-a, router-b"}},
	{name: "podIP entry with a bad address names the entry",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","podIP":{"router-a":{"addresses":["192.168.12.0/24"]}}}`,
		env:  Env{PodName: "router-a"}, code: 7, frags: []string{`podIP["router-a"].addresses[0]`, `"192.168.12.0/24"`}},
	{name: "ipConfig needs the API server",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","ipConfig":{"namespace":"egress","name":"egress-file"}}`, env: Env{PodNamespace: "egress"},
		code: 7, frags: []string{"ipConfig", "egress/egress-file", "not read", "kubeconfig"}},
	{name: "ip and podIP together",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","ip":{"addresses":["192.168.12.99/24"]},"podIP":{}}`,
		code: 7, frags: []string{"ip and podIP are mutually exclusive"}},
	{name: "ip and ipConfig together",
		conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router","ip":{"addresses":["192.168.12.99/24"]},"ipConfig":{"name":"x"}}`,
		code: 7, frags: []string{"ip and ipConfig are mutually exclusive"}},
	{name: "none of ip, podIP, ipConfig", conf: `{"cniVersion":"1.0.0","name":"er","type":"egress-router"}`,
		code: 7, frags: []string{"exactly one of ip, podIP or ipConfig"}},

	// Route pass-through, logging, the rest.
	{name: "cluster routes passed through",
		conf: withIP(destIP(`["80 tcp 203.0.113.5"]`), `"clusterInterface":"eth1"`, `"clusterCIDRs":["10.128.0.0/14"]`, `"serviceCIDRs":["172.30.0.0/16"]`),
		env:  Env{IfName: "egress0"},
		ok:   want{clusterIf: "eth1", ifName: "egress0", viaCluster: 2}},
	{name: "clusterInterface is the egress interface", conf: withIP(destIP(`[]`), `"clusterInterface":"net1"`),
		code: 7, frags: []string{`clusterInterface "net1"`}},
	{name: "cluster CIDR not a CIDR", conf: withIP(destIP(`[]`), `"clusterCIDRs":["10.128.0.0"]`),
		code: 7, frags: []string{"10.128.0.0"}},
	{name: "log level unknown", conf: withIP(destIP(`[]`), `"log_level":"loud"`), code: 7, frags: []string{"log_level", "loud"}},
	{name: "not JSON", conf: `cniVersion: 0.4.0`, code: 6},
	{name: "NAT backend in any case", conf: withIP(destIP(`["192.168.12.91"]`), `"backend":"IPTables"`), ok: want{dests: []string{"192.168.12.91"}}},
	{name: "unknown NAT backend", conf: withIP(destIP(`[]`), `"backend":"pf"`), code: 7, frags: []string{"backend", `"pf"`}},
}

func TestConfigTable(t *testing.T) {
	if len(configCases) < 40 {
		t.Fatalf("only %d config cases", len(configCases))
	}
	for _, c := range configCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRouter([]byte(c.conf), c.env)
			if c.code != 0 {
				if err == nil {
					t.Fatalf("accepted; want code %d", c.code)
				}
				cnierrtest.Want(t, err, c.code, c.frags...)
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			checkAccepted(t, got, c.ok)
		})
	}
}

func checkAccepted(t *testing.T, c *Router, w want) {
	t.Helper()
	eq := func(what, got, want string) {
		if want != "" && got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	eq("field", c.Field, w.field)
	eq("interface", c.Interface.Type+" "+c.Interface.Mode, w.iface)
	if w.master != "" || w.iface != "" {
		eq("master", c.Interface.Master, w.master)
	}
	eq("cniVersion", c.CNIVersion, w.version)
	eq("log_file", c.Log.LogFile, w.logFile)
	eq("log_level", c.Log.LogLevel, w.logLevel)
	eq("cluster interface", c.ClusterInterface(), w.clusterIf)
	eq("ifName", c.IfName, w.ifName)
	if w.mtu != 0 && c.Interface.MTU != w.mtu {
		t.Errorf("mtu %d, want %d", c.Interface.MTU, w.mtu)
	}
	list := func(what string, got, want []string) {
		if want != nil && strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	list("addresses", c.AddrStrings(), w.addrs)
	gws := []string{}
	for _, g := range c.Gateways {
		gws = append(gws, g.String())
	}
	list("gateways", gws, w.gateways)
	list("destinations", c.Destinations.Lines(), w.dests)
	rules, err := c.Rules()
	if err != nil {
		t.Fatalf("Rules: %v", err)
	}
	// No destinations means a routes-only router: no NAT at all.
	if c.Destinations.Empty() != (rules == nil) || (w.noRules && rules != nil) {
		t.Errorf("destinations %q gave rulesets %v", c.Destinations.Lines(), rules)
	}
	if w.viaCluster > 0 && len(c.clusterRoutes()) != w.viaCluster {
		t.Errorf("routes via cluster %v, want %d", c.clusterRoutes(), w.viaCluster)
	}
}

// Every accepted config renders to a canonical single-plugin config that
// parses back to the same attachment.
func TestSingleRoundTrip(t *testing.T) {
	n := 0
	for _, c := range configCases {
		if c.code != 0 {
			continue
		}
		first, err := ParseRouter([]byte(c.conf), c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, err := json.Marshal(first.Single())
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRouter(b, Env{IfName: c.env.IfName, Policy: c.env.Policy})
		if err != nil {
			t.Errorf("%s: canonical form %s does not parse: %v", c.name, b, err)
			continue
		}
		if a, b := summary(first), summary(again); a != b {
			t.Errorf("%s: round trip changed the config:\n%s\n%s", c.name, a, b)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d accepted configs round-tripped", n)
	}
}

func summary(c *Router) string {
	return fmt.Sprintf("%s %s %v %v %v %q %+v %+v %s", c.Name, c.CNIVersion, c.Interface, c.AddrStrings(), c.Gateways,
		c.Destinations.Lines(), c.Route, c.Log, c.Backend)
}

func mustPolicy(s string) *policy.Policy {
	p, err := policy.Parse([]byte(s))
	if err != nil {
		panic(err)
	}
	return p
}

// DEL's interface plugin config is ADD's, destinations or not: it never
// depended on them, so DEL does not parse them.
func TestTeardownDelegateIsADDs(t *testing.T) {
	for _, conf := range []string{
		withIP(destIP(`["80 tcp 203.0.113.5 8080", "192.168.12.91"]`), `"interfaceArgs": {"master": "ens3", "mode": "private", "mtu": 1400}`),
		operatorNAD,
		`{"cniVersion": "1.0.0", "name": "pods", "type": "egress-router", "interfaceArgs": {"master": "ens3"},
		  "podIP": {"r-0": {"addresses": ["192.168.12.98/24"], "gateway": "192.168.12.1", "destinations": ["10.0.0.9"]}}}`,
	} {
		env := Env{IfName: "net1", PodName: "r-0"}
		n := &RouterConf{}
		if err := decode([]byte(conf), n); err != nil {
			t.Fatal(err)
		}
		c, err := n.validate(env)
		if err != nil {
			t.Fatalf("%s: %v", conf, err)
		}
		td, _ := Teardown(EgressRouter, []byte(conf), env)
		if got, want := fmt.Sprintf("%+v", *td.Interface), fmt.Sprintf("%+v", deletable(c.DelegateConf())); got != want {
			t.Errorf("DEL's delegate\n%s\nADD's\n%s", got, want)
		}
	}
}
