// Package nat builds and installs the egress router's redirect NAT inside
// the pod: connections arriving on the cluster interface are DNATed to
// their destination (per-port rules in order, then the fallback) and
// traffic leaving the egress interface is SNATed to the reserved source.
//
// Build turns a Spec into backend-neutral Rulesets, one per family, with
// no I/O. A backend (nftables.go, iptables.go) renders them into its own
// form (pure, in its *_rules.go file) and writes them into the pod. Each
// attachment's NAT lives in objects of its own named after the egress
// interface; nothing else in the pod's tables is touched.
package nat

import (
	"net"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/netx"
)

// Spec is what one attachment redirects.
type Spec struct {
	ClusterInterface string
	EgressInterface  string
	// Sources are the reserved source addresses; the first of each
	// family is used.
	Sources      []net.IP
	Destinations dest.Set
}

// Ruleset is one family's NAT for one attachment, as data: connections
// arriving on Cluster go to the per-port Rules, else to Fallback;
// whatever leaves Egress is SNATed to Source.
type Ruleset struct {
	Family   netx.Family
	Cluster  string
	Egress   string
	Source   net.IP
	Rules    []dest.Rule
	Fallback net.IP
}

// Build validates the spec and returns the rulesets, IPv4 first. Only
// families that have destinations get a ruleset.
func Build(s Spec) ([]Ruleset, error) {
	if s.Destinations.Empty() {
		return nil, cnierr.Config("destinations: empty; give at least one destination or a fallbackIP")
	}
	if s.ClusterInterface == s.EgressInterface {
		return nil, cnierr.Config("clusterInterface %q is the egress interface itself", s.ClusterInterface)
	}
	src := map[netx.Family]net.IP{}
	for _, ip := range s.Sources {
		f := netx.FamilyOf(ip)
		if _, dup := src[f]; !dup {
			src[f] = ip
		}
	}
	sets := map[netx.Family]*Ruleset{}
	get := func(ip net.IP) (*Ruleset, error) {
		f := netx.FamilyOf(ip)
		if rs, ok := sets[f]; ok {
			return rs, nil
		}
		if src[f] == nil {
			return nil, cnierr.Config("destinations: %s is an IPv%d address but the egress interface %q has no IPv%d source address", ip, f, s.EgressInterface, f)
		}
		rs := &Ruleset{Family: f, Cluster: s.ClusterInterface, Egress: s.EgressInterface, Source: src[f]}
		sets[f] = rs
		return rs, nil
	}
	for _, r := range s.Destinations.Rules {
		rs, err := get(r.IP)
		if err != nil {
			return nil, err
		}
		rs.Rules = append(rs.Rules, r)
	}
	for _, fb := range s.Destinations.Fallbacks {
		rs, err := get(fb)
		if err != nil {
			return nil, err
		}
		rs.Fallback = fb
	}
	var out []Ruleset
	for _, f := range netx.Families {
		if rs, ok := sets[f]; ok {
			out = append(out, *rs)
		}
	}
	return out, nil
}

// families lists the rulesets' families.
func families(sets []Ruleset) []netx.Family {
	var out []netx.Family
	for _, rs := range sets {
		out = append(out, rs.Family)
	}
	return out
}
