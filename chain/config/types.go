package config

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/logging"
)

// Plugin names one of our plugins (its "type").
type Plugin string

// Our plugins.
const (
	EgressRouter Plugin = "egress-router"
	EgressRoute  Plugin = "egress-route"
	EgressNAT    Plugin = "egress-nat"
)

// Logging are the logging fields every config accepts.
type Logging = logging.Settings

// Cluster names the pod's cluster-network interface; the route and NAT
// steps both need it, so it stands apart from their options.
type Cluster struct {
	ClusterInterface string `json:"clusterInterface,omitempty"`
}

// RouteOptions are the route step's fields, in egress-route's config and
// at the top of egress-router's.
type RouteOptions struct {
	ClusterCIDRs []string `json:"clusterCIDRs,omitempty"`
	ServiceCIDRs []string `json:"serviceCIDRs,omitempty"`
	MasterIPs    []string `json:"masterIPs,omitempty"`
	MasterRoutes *bool    `json:"masterRoutes,omitempty"`
}

// NATOptions are the NAT step's own fields, in egress-nat's config and at
// the top of egress-router's.
type NATOptions struct {
	// Backend is iptables, nftables or auto (the default).
	Backend string `json:"backend,omitempty"`
}

// Redirects are egress-nat's destinations. (egress-router carries the
// same lines in its ip object.)
type Redirects struct {
	Destinations Strings `json:"destinations,omitempty"`
	FallbackIP   string  `json:"fallbackIP,omitempty"`
	// Source is the SNAT source; it defaults to the egress interface's
	// addresses.
	Source string `json:"source,omitempty"`
}

// RouteConf is egress-route's configuration.
type RouteConf struct {
	types.NetConf
	Cluster
	RouteOptions
	// Gateway is the egress gateway; by default the one prevResult gives
	// the address.
	Gateway string `json:"gateway,omitempty"`
	Logging
}

// NATConf is egress-nat's configuration.
type NATConf struct {
	types.NetConf
	Cluster
	Redirects
	NATOptions
	Logging
}

// RouterConf is egress-router's configuration: egress-router-cni's shape
// (ip, podIP, ipConfig, interfaceType, interfaceArgs) plus the route and
// NAT options.
type RouterConf struct {
	types.NetConf
	IP       *IP            `json:"ip,omitempty"`
	PodIP    map[string]*IP `json:"podIP,omitempty"`
	IPConfig *IPConfig      `json:"ipConfig,omitempty"`
	// Kubeconfig, as Multus's own config names it; ipConfig.kubeconfig wins.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// InterfaceType is macvlan (default) or ipvlan.
	InterfaceType string `json:"interfaceType,omitempty"`
	// InterfaceArgs holds master, mode and mtu; values may be strings or
	// numbers (egress-router-cni took strings only).
	InterfaceArgs map[string]Arg `json:"interfaceArgs,omitempty"`
	Cluster
	RouteOptions
	NATOptions
	Logging
}

// IP is the `ip` object (and each `podIP` entry): the reserved addresses,
// the gateway and what to redirect.
type IP struct {
	Addresses    []string `json:"addresses,omitempty"`
	Destinations Strings  `json:"destinations,omitempty"`
	Gateway      Strings  `json:"gateway,omitempty"`
	FallbackIP   string   `json:"fallbackIP,omitempty"`
	// Dropped lists ConfigMap destinations ipConfig.overrides removed.
	Dropped []string `json:"-"`
	// bare lists addresses an overrides entry without a prefix admitted.
	bare []string
}

// MarshalJSON writes a single gateway as a plain string, as users write
// it.
func (ip IP) MarshalJSON() ([]byte, error) {
	type fields IP
	out := struct {
		fields
		Gateway any `json:"gateway,omitempty"`
	}{fields: fields(ip)}
	switch len(ip.Gateway) {
	case 0:
	case 1:
		out.Gateway = ip.Gateway[0]
	default:
		out.Gateway = []string(ip.Gateway)
	}
	return json.Marshal(out)
}

// IPConfig names a ConfigMap holding the `ip` or `podIP` entry (the
// enhancement proposal's ipConfig). Reading it needs the API server.
type IPConfig struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Overrides *IP    `json:"overrides,omitempty"`
	// Kubeconfig to reach the API server with; see RouterConf.kubeconfig.
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// Strings is one string or an array of strings in JSON. A gateway is a
// string in every existing config, and an array lets a dual-stack router
// name one per family; destinations may be one string of several lines,
// as EGRESS_DESTINATION was.
type Strings []string

// UnmarshalJSON accepts a string or an array of strings.
func (s *Strings) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want %s, got %s", wantStrings, b)
	}
	*s = many
	return nil
}

const wantStrings = "a string or an array of strings"

// Arg is an interfaceArgs value: a JSON string, number or boolean, kept as
// its text.
type Arg string

// UnmarshalJSON accepts a string, a number or a boolean.
func (a *Arg) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Arg(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*a = Arg(n.String())
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*a = Arg(strconv.FormatBool(v))
		return nil
	}
	return fmt.Errorf("interfaceArgs: want %s, got %s", wantArg, b)
}

const wantArg = "a string or a number"
