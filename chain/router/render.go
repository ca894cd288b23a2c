package router

import (
	"encoding/json"
	"strconv"

	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
)

// Plugin type names of the chain's steps.
const (
	RouteType = "egress-route"
	NATType   = "egress-nat"
	IPAMType  = "static"
)

type staticAddress struct {
	Address string `json:"address"`
	Gateway string `json:"gateway,omitempty"`
}

type staticIPAM struct {
	Type      string          `json:"type"`
	Addresses []staticAddress `json:"addresses"`
}

// InterfaceConf is the interface plugin's config (upstream macvlan or
// ipvlan with static IPAM holding the reserved addresses and gateways).
type InterfaceConf struct {
	CNIVersion string     `json:"cniVersion,omitempty"`
	Name       string     `json:"name,omitempty"`
	Type       string     `json:"type"`
	Master     string     `json:"master,omitempty"`
	Mode       string     `json:"mode,omitempty"`
	MTU        int        `json:"mtu,omitempty"`
	IPAM       staticIPAM `json:"ipam"`
	// PrevResult is set for CHECK, as the spec asks.
	PrevResult json.RawMessage `json:"prevResult,omitempty"`
	// ValidAttachments is set for GC (spec 1.1).
	ValidAttachments json.RawMessage `json:"cni.dev/valid-attachments,omitempty"`
}

// InterfacePlugin returns the interface step's config as a conflist entry
// (no name or version: the list gives them).
func (c *Config) InterfacePlugin() InterfaceConf {
	ic := InterfaceConf{Type: c.Interface.Type, Master: c.Interface.Master, Mode: c.Interface.Mode, MTU: c.Interface.MTU,
		IPAM: staticIPAM{Type: IPAMType}}
	for _, a := range c.Addrs {
		sa := staticAddress{Address: a.String()}
		if gw := c.Gateway(a); gw != nil {
			sa.Gateway = gw.String()
		}
		ic.IPAM.Addresses = append(ic.IPAM.Addresses, sa)
	}
	return ic
}

// DelegateConf is the interface plugin's standalone config, as
// invoke.DelegateAdd and friends need it: with name and cniVersion.
func (c *Config) DelegateConf() InterfaceConf {
	ic := c.InterfacePlugin()
	ic.CNIVersion, ic.Name = c.CNIVersion, c.Name
	return ic
}

// RoutePlugin is egress-route's conflist entry.
type RoutePlugin struct {
	Type string `json:"type"`
	route.Options
	logging.Settings
}

// NATPlugin is egress-nat's conflist entry.
type NATPlugin struct {
	Type string `json:"type"`
	nat.Options
	logging.Settings
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
func (c *Config) Conflist() Conflist {
	rp := RoutePlugin{Type: RouteType, Options: c.Route, Settings: c.Log}
	l := Conflist{CNIVersion: c.CNIVersion, Name: c.Name, Plugins: []any{c.InterfacePlugin(), rp}}
	if !c.Destinations.Empty() {
		np := NATPlugin{Type: NATType, Settings: c.Log,
			Options: nat.Options{ClusterInterface: c.Route.ClusterInterface, Destinations: c.Destinations.Lines(), Backend: c.explicitBackend()}}
		l.Plugins = append(l.Plugins, np)
	}
	return l
}

// Single is the egress-router plugin's own config in canonical form:
// what a NAD of the single-plugin form carries.
type Single struct {
	CNIVersion    string         `json:"cniVersion"`
	Name          string         `json:"name"`
	Type          string         `json:"type"`
	IP            IP             `json:"ip"`
	InterfaceType string         `json:"interfaceType"`
	InterfaceArgs map[string]Arg `json:"interfaceArgs,omitempty"`
	Backend       string         `json:"backend,omitempty"`
	route.Options
	logging.Settings
}

// PluginType is the meta-plugin's type name.
const PluginType = "egress-router"

// Single renders the config back as one egress-router plugin config, with
// destinations in canonical form (fallback last) and, after Resolve, the
// master and gateways explicit.
func (c *Config) Single() Single {
	s := Single{CNIVersion: c.CNIVersion, Name: c.Name, Type: PluginType, InterfaceType: c.Interface.Type,
		Options: c.Route, Settings: c.Log, Backend: c.explicitBackend()}
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

// explicitBackend is the NAT backend as a config field: empty for auto.
func (c *Config) explicitBackend() string {
	if c.Backend == nat.Auto {
		return ""
	}
	return c.Backend
}
