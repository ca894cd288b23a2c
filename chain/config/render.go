package config

import (
	"io"
	"strconv"

	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/plan"
)

// interfacePlugin returns the interface step's config as a conflist entry
// (no name or version: the list gives them).
func (c *Router) interfacePlugin() plan.Delegate {
	d := plan.Delegate{Type: c.Interface.Type, Master: c.Interface.Master, Mode: c.Interface.Mode, MTU: c.Interface.MTU,
		IPAM: plan.IPAM{Type: plan.StaticIPAM}}
	for _, a := range c.Addrs {
		sa := plan.StaticAddress{Address: a.String()}
		if gw := c.Gateway(a); gw != nil {
			sa.Gateway = gw.String()
		}
		d.IPAM.Addresses = append(d.IPAM.Addresses, sa)
	}
	return d
}

// DelegateConf is the interface plugin's standalone config, as
// invoke.DelegateAdd and friends need it: with name and cniVersion.
func (c *Router) DelegateConf() plan.Delegate {
	d := c.interfacePlugin()
	d.CNIVersion, d.Name = c.CNIVersion, c.Name
	return d
}

// RoutePlugin is egress-route's conflist entry.
type RoutePlugin struct {
	Type Plugin `json:"type"`
	Cluster
	RouteOptions
	Logging
}

// NATPlugin is egress-nat's conflist entry.
type NATPlugin struct {
	Type Plugin `json:"type"`
	Cluster
	Redirects
	NATOptions
	Logging
}

// Conflist is the chain as a network configuration list.
type Conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

// Conflist translates the config into the equivalent conflist: the
// interface plugin with static IPAM, egress-route, then egress-nat (left
// out when nothing is redirected). Resolve first, so the master and the
// gateways are explicit.
func (c *Router) Conflist() Conflist {
	rp := RoutePlugin{Type: EgressRoute, Cluster: c.Cluster, RouteOptions: c.Route, Logging: c.Log}
	l := Conflist{CNIVersion: c.CNIVersion, Name: c.Name, Plugins: []any{c.interfacePlugin(), rp}}
	if !c.Destinations.Empty() {
		l.Plugins = append(l.Plugins, NATPlugin{Type: EgressNAT, Cluster: c.Cluster, Logging: c.Log,
			Redirects: Redirects{Destinations: c.Destinations.Lines()}, NATOptions: c.natOptions()})
	}
	return l
}

// Single is the egress-router plugin's own config in canonical form:
// what a NAD of the single-plugin form carries.
type Single struct {
	CNIVersion    string         `json:"cniVersion"`
	Name          string         `json:"name"`
	Type          Plugin         `json:"type"`
	IP            IP             `json:"ip"`
	InterfaceType string         `json:"interfaceType"`
	InterfaceArgs map[string]Arg `json:"interfaceArgs,omitempty"`
	NATOptions
	Cluster
	RouteOptions
	Logging
}

// Single renders the config back as one egress-router plugin config, with
// destinations in canonical form (fallback last) and, after Resolve, the
// master and gateways explicit.
func (c *Router) Single() Single {
	s := Single{CNIVersion: c.CNIVersion, Name: c.Name, Type: EgressRouter, InterfaceType: c.Interface.Type,
		NATOptions: c.natOptions(), Cluster: c.Cluster, RouteOptions: c.Route, Logging: c.Log}
	s.IP.Addresses = c.AddrStrings()
	s.IP.Destinations = c.Destinations.Lines()
	for _, g := range c.Gateways {
		s.IP.Gateway = append(s.IP.Gateway, g.String())
	}
	args := map[string]Arg{"mode": Arg(c.Interface.Mode)}
	if c.Interface.Master != "" {
		args["master"] = Arg(c.Interface.Master)
	}
	if c.Interface.MTU > 0 {
		args["mtu"] = Arg(strconv.Itoa(c.Interface.MTU))
	}
	s.InterfaceArgs = args
	return s
}

// natOptions are the NAT options as a config states them: no backend for
// auto.
func (c *Router) natOptions() NATOptions {
	if c.Backend == nat.Auto {
		return NATOptions{}
	}
	return NATOptions{Backend: string(c.Backend)}
}

// DryRun writes what ADD would do with this config, without doing it:
// the plan, printed. Resolve first to see what the node supplies.
func (c *Router) DryRun(w io.Writer) error {
	return c.Plan(plan.Pod{IfName: c.IfName}).Print(w)
}
