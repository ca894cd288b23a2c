// Package testnet builds the egress-router test network out of network
// namespaces on this host, for the tests, the demo and the benchmark. It
// does not import testing, so the demo and benchmark binaries do not link
// the test harness (chain/nstest). Nothing in it
// touches the root namespace: every link, address and route is inside
// namespaces it creates, and Down deletes them all.
//
//	client (eth0 10.130.0.5/23)          far (eth0 203.0.113.5/24: server beyond the gateway)
//	   |                                    |
//	 node (vclient 10.130.0.1, bridge cni0 10.129.2.1 with vrouter, ext0 192.168.12.2/24 = macvlan master)
//	   |                    |                |
//	router (eth0 10.129.2.31/23, net1 = macvlan on ext0)
//	                                        ext (ext1 192.168.12.1/24 gateway, .91 server; far0 203.0.113.1/24)
//
// Every network also has an IPv6 twin (fd00:…).
package testnet

import (
	"fmt"
	"strings"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// The addresses of the test network.
const (
	NodeMasterIP   = "192.168.12.2"
	NodeMasterIP6  = "fd00:12::2"
	GatewayIP      = "192.168.12.1"
	GatewayIP6     = "fd00:12::1"
	SubnetServerIP = "192.168.12.91" // a server on the egress subnet (in ext)
	SubnetServer6  = "fd00:12::91"
	FarServerIP    = "203.0.113.5" // a server beyond the gateway (in far)
	FarServerIP6   = "fd00:203::5"
	ReservedIP     = "192.168.12.99" // the egress router's reserved source
	ReservedIP6    = "fd00:12::99"
	RouterPodIP    = "10.129.2.31"
	RouterPodIP6   = "fd00:129::31"
	RouterPodGW    = "10.129.2.1"
	RouterPodGW6   = "fd00:129::1"
	ClientPodIP    = "10.130.0.5"
	ClientPodIP6   = "fd00:130::5"
	ClusterCIDR    = "10.128.0.0/14"
	ClusterCIDR6   = "fd00:100::/24"
	ServiceCIDR    = "172.30.0.0/16"
	ServiceCIDR6   = "fd00:172:30::/112"
	MasterLink     = "ext0"
	EgressSubnet   = "192.168.12.0/24"
	EgressSubnet6  = "fd00:12::/64"

	// The operator NAD's network (deploy/kubernetes/nad-operator.yaml),
	// on a link pair of its own so the configs above see nothing of it:
	// the node's ext3 and ext's ext4 (the gateway), and the servers its
	// rules name, in far.
	OperatorLink      = "ext3"
	OperatorNodeIP    = "192.168.3.2"
	OperatorGatewayIP = "192.168.3.1"
	OperatorIP        = "192.168.3.10"
	OperatorServers   = "203.0.113.26 203.0.113.27 10.0.0.99"
)

// Topology is a running test network. Names are netns names under
// /var/run/netns.
type Topology struct {
	Prefix                         string
	Node, Ext, Far, Router, Client string
	// extra are the router pods AddRouter made.
	extra []string
}

func (t *Topology) all() []string {
	return append(append([]string{}, t.extra...), t.Client, t.Router, t.Far, t.Ext, t.Node)
}

// ip runs one iproute2 batch in a namespace.
func ip(netns string, cmds ...string) error { return nsutil.IP(netns, cmds...) }

// Named is the topology whose namespace names start with prefix, whether
// it is up or not (Down removes whatever of it exists).
func Named(prefix string) *Topology {
	return &Topology{Prefix: prefix, Node: prefix + "node", Ext: prefix + "ext", Far: prefix + "far", Router: prefix + "router", Client: prefix + "client"}
}

// Up builds the test network with namespace names starting with prefix.
// On error it removes whatever it made.
func Up(prefix string) (t *Topology, err error) {
	t = Named(prefix)
	defer func() {
		if err != nil {
			t.Down()
		}
	}()
	for _, n := range t.all() {
		if err := nsutil.Add(n); err != nil {
			return t, err
		}
	}
	for _, n := range []string{t.Node, t.Ext} {
		if err := nsutil.Sysctls(n, nsutil.Forwarding); err != nil {
			return t, err
		}
	}
	steps := []struct {
		netns string
		cmds  []string
	}{
		{t.Node, []string{
			"link add ext0 type veth peer name ext1 netns " + t.Ext,
			"link add ext3 type veth peer name ext4 netns " + t.Ext,
			"addr add 192.168.3.2/24 dev ext3", "link set ext3 up",
			"link add vrouter type veth peer name eth0 netns " + t.Router,
			"link add vclient type veth peer name eth0 netns " + t.Client,
			"addr add 192.168.12.2/24 dev ext0", "addr add fd00:12::2/64 dev ext0 nodad",
			// The router pod's subnet is a bridge, as on a real node.
			"link add cni0 type bridge", "link set vrouter master cni0", "link set cni0 up",
			"addr add 10.129.2.1/23 dev cni0", "addr add fd00:129::1/64 dev cni0 nodad",
			"addr add 10.130.0.1/23 dev vclient", "addr add fd00:130::1/64 dev vclient nodad",
			"link set ext0 up", "link set vrouter up", "link set vclient up",
			"route add default via 192.168.12.1 dev ext0", "route add default via fd00:12::1 dev ext0",
		}},
		{t.Ext, []string{
			"link add far0 type veth peer name eth0 netns " + t.Far,
			"addr add 192.168.12.1/24 dev ext1", "addr add fd00:12::1/64 dev ext1 nodad",
			"addr add 192.168.12.91/24 dev ext1", "addr add fd00:12::91/64 dev ext1 nodad",
			"addr add 203.0.113.1/24 dev far0", "addr add fd00:203::1/64 dev far0 nodad",
			"addr add 192.168.3.1/24 dev ext4",
			"link set ext1 up", "link set far0 up", "link set ext4 up",
			"route add 10.0.0.0/24 via 203.0.113.5",
		}},
		{t.Far, []string{
			"addr add 203.0.113.5/24 dev eth0", "addr add fd00:203::5/64 dev eth0 nodad", "link set eth0 up",
			"addr add 203.0.113.26/24 dev eth0", "addr add 203.0.113.27/24 dev eth0", "addr add 10.0.0.99/24 dev eth0",
			"route add default via 203.0.113.1", "route add default via fd00:203::1",
		}},
		{t.Router, []string{
			"addr add 10.129.2.31/23 dev eth0", "addr add fd00:129::31/64 dev eth0 nodad", "link set eth0 up",
			"route add default via 10.129.2.1 dev eth0", "route add default via fd00:129::1 dev eth0",
		}},
		{t.Client, []string{
			"addr add 10.130.0.5/23 dev eth0", "addr add fd00:130::5/64 dev eth0 nodad", "link set eth0 up",
			"route add default via 10.130.0.1 dev eth0", "route add default via fd00:130::1 dev eth0",
		}},
	}
	for _, s := range steps {
		if err := ip(s.netns, s.cmds...); err != nil {
			return t, err
		}
	}
	return t, nil
}

// Down deletes the topology's namespaces (and with them every link in
// them). It is safe to call more than once.
func (t *Topology) Down() error {
	var errs []string
	for _, n := range t.all() {
		if err := nsutil.Del(n); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// AddRouter adds router pod i (0-99) to the network: namespace
// <prefix>r<i>, its eth0 a port of the node's bridge with 10.129.3.<10+i>
// (the router pods' subnet, default via the node), for as many routers as
// a test or benchmark attaches at once. Down, or RemoveRouter, removes it.
func (t *Topology) AddRouter(i int) (string, error) {
	name := fmt.Sprintf("%sr%d", t.Prefix, i)
	if err := nsutil.Add(name); err != nil {
		return name, err
	}
	t.extra = append(t.extra, name)
	if err := nsutil.IP(t.Node, fmt.Sprintf("link add vr%d type veth peer name eth0 netns %s", i, name),
		fmt.Sprintf("link set vr%d master cni0", i), fmt.Sprintf("link set vr%d up", i)); err != nil {
		return name, err
	}
	return name, nsutil.IP(name, fmt.Sprintf("addr add 10.129.3.%d/23 dev eth0", 10+i), "link set eth0 up",
		"route add default via 10.129.2.1 dev eth0")
}

// RouterIP is router pod i's cluster address.
func RouterIP(i int) string { return fmt.Sprintf("10.129.3.%d", 10+i) }
