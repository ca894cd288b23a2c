// Package router is the egress-router configuration: the shapes existing
// NetworkAttachmentDefinitions carry (egress-router-cni's seeds, the
// OpenShift operator's rendered config), their validation, the host
// lookups that fill in master and gateway, and the translation of one
// config into the equivalent chain: the interface plugin's config, the
// conflist (macvlan|ipvlan + static, egress-route, egress-nat) and a
// NetworkAttachmentDefinition.
package router

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
)

// IP is the `ip` object (and each `podIP` entry): the reserved addresses,
// the gateway and what to redirect.
type IP struct {
	Addresses    []string  `json:"addresses,omitempty"`
	Destinations nat.Lines `json:"destinations,omitempty"`
	Gateway      Strings   `json:"gateway,omitempty"`
	FallbackIP   string    `json:"fallbackIP,omitempty"`
	// Dropped lists ConfigMap destinations ipConfig.overrides removed.
	Dropped []string `json:"-"`
}

// IPConfig names a ConfigMap holding the `ip` or `podIP` entry (the
// enhancement proposal's ipConfig). Reading it needs the API server.
type IPConfig struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Overrides *IP    `json:"overrides,omitempty"`
	// Kubeconfig to reach the API server with; see NetConf.KubeconfigPath.
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// NetConf is the egress-router plugin's configuration.
type NetConf struct {
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

	// Passed through to the route step.
	ClusterInterface string   `json:"clusterInterface,omitempty"`
	ClusterCIDRs     []string `json:"clusterCIDRs,omitempty"`
	ServiceCIDRs     []string `json:"serviceCIDRs,omitempty"`
	MasterIPs        []string `json:"masterIPs,omitempty"`
	MasterRoutes     *bool    `json:"masterRoutes,omitempty"`

	// Backend is the NAT backend: iptables, nftables or auto (default).
	Backend string `json:"backend,omitempty"`

	logging.Settings
}

// Strings is one string or an array of strings in JSON: `"gateway"` is a
// string in every existing config, an array lets a dual-stack router name
// one gateway per family.
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
		return fmt.Errorf("want a string or an array of strings, got %s", b)
	}
	*s = many
	return nil
}

// MarshalJSON writes a single value as a plain string, as users write it.
func (s Strings) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

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
	return fmt.Errorf("interfaceArgs: want a string or a number, got %s", b)
}
