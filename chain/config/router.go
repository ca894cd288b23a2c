package config

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/policy"
)

// Interface types and their modes, first mode the default.
var modes = map[string][]string{
	"macvlan": {"bridge", "private", "vepa", "passthru"},
	"ipvlan":  {"l2", "l3", "l3s"},
}

// Interface is the link the interface plugin creates.
type Interface struct {
	Type   string // macvlan or ipvlan
	Master string // "" until Resolve when the config names none
	Mode   string // lower case
	MTU    int    // 0: the master's
}

// Router is a validated egress-router configuration for one attachment.
type Router struct {
	Name       string
	CNIVersion string
	IfName     string
	// Field names where the addresses came from: "ip" or `podIP["name"]`.
	Field     string
	Interface Interface
	// Addrs are the reserved addresses, at most one per family, IPv4 first.
	Addrs []*net.IPNet
	// Gateways are the egress gateways, at most one per family; Resolve
	// infers the missing ones.
	Gateways     []net.IP
	Destinations dest.Set
	// Cluster and Route are the route options as given, for rendering.
	Cluster Cluster
	Route   RouteOptions
	routes  *routeSettings
	// Backend is the NAT backend.
	Backend nat.Backend
	// Dropped are ipConfig ConfigMap destinations the overrides removed,
	// for the log.
	Dropped []string
	rules   []nat.Ruleset
	Log     Logging
	// MasterHow says how Resolve found the master, for logs.
	MasterHow string
	// MasterAddrs are the master's host addresses (Resolve), which the pod
	// reaches through the cluster interface.
	MasterAddrs []net.IP
	// bare are addresses an ipConfig overrides entry without a prefix
	// admitted; their prefix is checked against the egress subnet.
	bare   []string
	policy *policy.Policy
}

// ParseRouter decodes and validates an egress-router config. Nothing on
// the host is looked at: see Resolve. An ipConfig config needs the
// ConfigMap's data in env.
func ParseRouter(stdin []byte, env Env) (*Router, error) {
	conf := &RouterConf{}
	if err := decode(stdin, conf); err != nil {
		return nil, err
	}
	return conf.validate(env)
}

// validate checks the config for one attachment.
func (n *RouterConf) validate(env Env) (*Router, error) {
	c := &Router{Name: n.Name, CNIVersion: n.CNIVersion, IfName: env.IfName, Log: n.Logging, policy: env.policy()}
	if strings.TrimSpace(n.Name) == "" {
		return nil, cnierr.Config("name: missing; the network needs a name")
	}
	if c.IfName == "" {
		c.IfName = "net1"
	}
	ip, field, err := n.pickIP(env)
	if err != nil {
		return nil, err
	}
	c.Field, c.Dropped, c.bare = field, ip.Dropped, ip.bare
	if err := c.parseIP(field, ip); err != nil {
		return nil, err
	}
	if c.Interface, err = parseInterface(n.InterfaceType, n.InterfaceArgs, c.Addrs); err != nil {
		return nil, err
	}
	pol := env.policy()
	if c.Interface.Master != "" {
		if err := guardMaster(pol, "interfaceArgs.master", c.Interface.Master); err != nil {
			return nil, err
		}
	}
	if !pol.AllowsMode(c.Interface.Type, c.Interface.Mode) {
		return nil, cnierr.Config("interfaceArgs.mode %q: %s mode passthru hands the master's own MAC address to the pod; %s does not allow it", c.Interface.Mode, c.Interface.Type, pol.Source)
	}
	c.Cluster = Cluster{ClusterInterface: strings.TrimSpace(n.ClusterInterface)}
	c.Route = n.RouteOptions
	if c.routes, err = c.Route.settings(c.Cluster, ""); err != nil {
		return nil, err
	}
	if c.routes.clusterInterface == c.IfName {
		return nil, cnierr.Config("clusterInterface %q is the egress interface itself (CNI_IFNAME)", c.routes.clusterInterface)
	}
	if err := c.barePrefixes(pol, ip.bare, nil); err != nil {
		return nil, err
	}
	if err := guardAddrs(pol, env.PodNamespace, field+".addresses", c.Addrs, c.routes.viaCluster); err != nil {
		return nil, err
	}
	if err := guardDests(pol, env.PodNamespace, field+".destinations", c.Destinations); err != nil {
		return nil, err
	}
	if _, err := logging.ParseLevel(n.LogLevel); err != nil {
		return nil, cnierr.Config("log_level: %v", err)
	}
	if c.Backend, err = parseBackend("backend", n.Backend); err != nil {
		return nil, err
	}
	// Build the rules once now so every NAT error is a config error
	// before anything is created; Rules returns these.
	if c.rules, err = c.buildRules(); err != nil {
		return nil, cnierr.Prefix(field, err)
	}
	return c, nil
}

// pickIP applies "exactly one of ip, podIP, ipConfig".
func (n *RouterConf) pickIP(env Env) (*IP, string, error) {
	podName := env.PodName
	var set []string
	if n.IP != nil {
		set = append(set, "ip")
	}
	if n.PodIP != nil {
		set = append(set, "podIP")
	}
	if n.IPConfig != nil {
		set = append(set, "ipConfig")
	}
	switch {
	case len(set) == 0:
		return nil, "", cnierr.Config("ip: missing; give exactly one of ip, podIP or ipConfig")
	case len(set) > 1:
		return nil, "", cnierr.Config("%s are mutually exclusive; give exactly one of ip, podIP or ipConfig", strings.Join(set, " and "))
	case n.IPConfig != nil:
		ns, name, err := n.IPConfig.Where(env)
		if err != nil {
			return nil, "", err
		}
		where := fmt.Sprintf("ipConfig ConfigMap %s/%s", ns, name)
		if env.IPConfigData == nil {
			return nil, "", cnierr.Config("%s: not read; reading it needs the Kubernetes API (a kubeconfig and the egress-ipconfig helper)", where)
		}
		ip, err := n.IPConfig.fromConfigMap(env, where)
		if err != nil {
			return nil, "", err
		}
		return ip, where, nil
	case n.PodIP != nil:
		names := make([]string, 0, len(n.PodIP))
		for k := range n.PodIP {
			names = append(names, k)
		}
		sort.Strings(names)
		if podName == "" {
			return nil, "", cnierr.Env("podIP: CNI_ARGS has no K8S_POD_NAME to choose an entry by (entries: %s)", strings.Join(names, ", "))
		}
		ip := n.PodIP[podName]
		if ip == nil {
			return nil, "", cnierr.Config("podIP: no entry for pod %q (entries: %s)", podName, strings.Join(names, ", "))
		}
		return ip, fmt.Sprintf("podIP[%q]", podName), nil
	}
	return n.IP, "ip", nil
}

// parseIP validates addresses, gateways and destinations.
func (c *Router) parseIP(field string, ip *IP) error {
	if len(ip.Addresses) == 0 {
		return cnierr.Config("%s.addresses: empty; give the reserved source address, e.g. \"192.168.12.99/24\"", field)
	}
	byFam := map[netx.Family]*net.IPNet{}
	for i, s := range ip.Addresses {
		a, err := parseAddress(s)
		if err != nil {
			return cnierr.Config("%s.addresses[%d] %q: %v", field, i, s, err)
		}
		fam := netx.FamilyOf(a.IP)
		if prev, dup := byFam[fam]; dup {
			return cnierr.Config("%s.addresses: %s and %s are both IPv%d; an egress router has one reserved address per family", field, prev, a, fam)
		}
		byFam[fam] = a
	}
	for _, fam := range netx.Families {
		if a, ok := byFam[fam]; ok {
			c.Addrs = append(c.Addrs, a)
		}
	}
	gwFam := map[netx.Family]bool{}
	for i, s := range ip.Gateway {
		g := net.ParseIP(strings.TrimSpace(s))
		if g == nil {
			return cnierr.Config("%s.gateway %q is not an IP address", field, gatewayName(ip.Gateway, i, s))
		}
		if v4 := g.To4(); v4 != nil {
			g = v4
		}
		fam := netx.FamilyOf(g)
		if byFam[fam] == nil {
			return cnierr.Config("%s.gateway %s is IPv%d but %s.addresses has no IPv%d address", field, g, fam, field, fam)
		}
		if g.Equal(byFam[fam].IP) {
			return cnierr.Config("%s.gateway %s is the reserved address itself", field, g)
		}
		if gwFam[fam] {
			return cnierr.Config("%s.gateway: several IPv%d gateways %v; give one per family", field, fam, []string(ip.Gateway))
		}
		if g.IsUnspecified() || g.IsMulticast() || g.IsLoopback() {
			return cnierr.Config("%s.gateway %s is not a unicast address", field, g)
		}
		gwFam[fam] = true
		c.Gateways = append(c.Gateways, g)
	}
	set, err := dest.Parse(field+".destinations", ip.Destinations, field+".fallbackIP", ip.FallbackIP)
	if err != nil {
		return err
	}
	c.Destinations = set
	return nil
}

func gatewayName(all Strings, i int, s string) string {
	if len(all) > 1 {
		return fmt.Sprintf("[%d] %s", i, s)
	}
	return s
}

// parseAddress takes a CIDR, or a bare IP as a host address (/32, /128),
// as the legacy router's EGRESS_SOURCE did.
func parseAddress(s string) (*net.IPNet, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("not an IP address or CIDR")
		}
		s = netx.HostNet(ip).String()
	}
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("not an IP address or CIDR")
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsMulticast() || ip.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("not a usable unicast address")
	}
	ones, bits := n.Mask.Size()
	if bits-ones >= 2 {
		if ip.Equal(n.IP) {
			return nil, fmt.Errorf("is the network address of %s, not a host", n)
		}
		if bits == 32 && ip.Equal(broadcast(n)) {
			return nil, fmt.Errorf("is the broadcast address of %s, not a host", n)
		}
	}
	return &net.IPNet{IP: ip, Mask: n.Mask}, nil
}

func broadcast(n *net.IPNet) net.IP {
	b := make(net.IP, len(n.IP))
	for i := range n.IP {
		b[i] = n.IP[i] | ^n.Mask[i]
	}
	return b
}

// parseInterface validates interfaceType and interfaceArgs.
func parseInterface(typ string, args map[string]Arg, addrs []*net.IPNet) (Interface, error) {
	it := Interface{Type: strings.ToLower(strings.TrimSpace(typ))}
	if it.Type == "" {
		it.Type = "macvlan"
	}
	allowed, ok := modes[it.Type]
	if !ok {
		return it, cnierr.Config("interfaceType %q is not supported; use macvlan or ipvlan", typ)
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(string(args[k]))
		switch k {
		case "master":
			if v == "" {
				continue
			}
			if err := validIfName("interfaceArgs.master", v); err != nil {
				return it, err
			}
			it.Master = v
		case "mode":
			it.Mode = strings.ToLower(v)
			if it.Mode == "" {
				continue
			}
			found := false
			for _, m := range allowed {
				found = found || m == it.Mode
			}
			if !found {
				return it, cnierr.Config("interfaceArgs.mode %q is not a %s mode; use one of %s", v, it.Type, strings.Join(allowed, ", "))
			}
		case "mtu":
			if v == "" {
				continue
			}
			mtu, err := strconv.Atoi(v)
			if err != nil || mtu < 68 || mtu > 65535 {
				return it, cnierr.Config("interfaceArgs.mtu %q is not an MTU (a number from 68 to 65535)", v)
			}
			for _, a := range addrs {
				if a.IP.To4() == nil && mtu < 1280 {
					return it, cnierr.Config("interfaceArgs.mtu %d is below 1280, the minimum for the IPv6 address %s", mtu, a.IP)
				}
			}
			it.MTU = mtu
		default:
			return it, cnierr.Config("interfaceArgs.%s is not a known argument; use master, mode or mtu", k)
		}
	}
	if it.Mode == "" {
		it.Mode = allowed[0]
	}
	return it, nil
}

// ClusterInterface is the pod's cluster-network interface.
func (c *Router) ClusterInterface() string { return c.routes.clusterInterface }

// clusterRoutes are the cluster and service CIDRs kept on the cluster
// interface.
func (c *Router) clusterRoutes() []*net.IPNet { return c.routes.viaCluster }

// Rules returns the NAT rulesets ADD installs; none when there are no
// destinations (the pod then only routes, e.g. for a proxy in the pod).
func (c *Router) Rules() ([]nat.Ruleset, error) { return c.rules, nil }

func (c *Router) buildRules() ([]nat.Ruleset, error) {
	if c.Destinations.Empty() {
		return nil, nil
	}
	spec, err := natSpec(c.ClusterInterface(), c.IfName, c.Destinations, nil, c.Addrs)
	if err != nil {
		return nil, err
	}
	return nat.Build(spec)
}

// AddrStrings returns the reserved addresses in CIDR form.
func (c *Router) AddrStrings() []string {
	out := make([]string, 0, len(c.Addrs))
	for _, a := range c.Addrs {
		out = append(out, a.String())
	}
	return out
}

// barePrefixes checks the addresses an overrides entry without a prefix
// admitted: a bare IP admits that address as a host address or with its
// egress subnet's prefix, never a wider one. The egress subnets are the
// policy's; without any, those of the master (subnets, known once it is
// resolved; until then the check waits for Resolve).
func (c *Router) barePrefixes(pol *policy.Policy, bare []string, subnets []*net.IPNet) error {
	for _, s := range bare {
		a, err := parseAddress(s)
		if err != nil {
			continue // parseIP reported it
		}
		if subnets == nil && !pol.HasEgressSubnets() {
			continue
		}
		ones, _ := a.Mask.Size()
		prefixes := pol.HostPrefixes(a.IP, subnets)
		if !slices.Contains(prefixes, ones) {
			return cnierr.Config("%s: address %q: ipConfig.overrides.addresses names %s without a prefix, which admits it only with prefix %v", c.Field, s, a.IP, prefixes)
		}
	}
	return nil
}
