// Package nat builds and installs the egress router's redirect NAT inside
// the pod: connections arriving on the cluster interface are DNATed to
// their destination (per-port rules in order, then the fallback) and
// traffic leaving the egress interface is SNATed to the reserved source.
//
// The rules live in two chains of our own per attachment, named after the
// egress interface, and jumped to from PREROUTING and POSTROUTING; nothing
// else in the pod's tables is touched.
package nat

import (
	"fmt"
	"net"
	"strconv"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
)

// Spec is what one attachment redirects.
type Spec struct {
	ClusterInterface string
	EgressInterface  string
	// Sources are the reserved source addresses, at most one per family.
	Sources      []net.IP
	Destinations dest.Set
}

// Family is 4 or 6.
type Family int

// Ruleset is one family's NAT for one attachment, in iptables rule-spec
// form as `iptables -S` prints it, so CHECK can compare exactly.
type Ruleset struct {
	Family    Family
	DNATChain string
	SNATChain string
	// DNAT and SNAT are the rule specs inside our chains, in order.
	DNAT [][]string
	SNAT [][]string
	// PreJump and PostJump enter our chains from PREROUTING and POSTROUTING.
	PreJump  []string
	PostJump []string

	// The same NAT as data, for the nftables backend.
	Cluster, Egress string
	Source          net.IP
	Rules           []dest.Rule
	Fallback        net.IP
}

// ChainNames returns the DNAT and SNAT chain names of an egress interface.
// Interface names are at most 15 bytes, so the names fit iptables' 28.
func ChainNames(egressIf string) (dnat, snat string) {
	return "EGRESS-DNAT-" + egressIf, "EGRESS-SNAT-" + egressIf
}

func familyOf(ip net.IP) Family {
	if ip.To4() != nil {
		return 4
	}
	return 6
}

// Build validates the spec and returns the rulesets, IPv4 first. Only
// families that have destinations get rules.
func Build(s Spec) ([]Ruleset, error) {
	if s.Destinations.Empty() {
		return nil, cnierr.Config("destinations: empty; give at least one destination or a fallbackIP")
	}
	if s.ClusterInterface == s.EgressInterface {
		return nil, cnierr.Config("clusterInterface %q is the egress interface itself", s.ClusterInterface)
	}
	src := map[Family]net.IP{}
	for _, ip := range s.Sources {
		f := familyOf(ip)
		if _, dup := src[f]; !dup {
			src[f] = ip
		}
	}
	dnat, snat := ChainNames(s.EgressInterface)
	sets := map[Family]*Ruleset{}
	get := func(ip net.IP) (*Ruleset, error) {
		f := familyOf(ip)
		if rs, ok := sets[f]; ok {
			return rs, nil
		}
		if src[f] == nil {
			return nil, cnierr.Config("destinations: %s is an IPv%d address but the egress interface %q has no IPv%d source address", ip, f, s.EgressInterface, f)
		}
		rs := &Ruleset{
			Family: f, DNATChain: dnat, SNATChain: snat,
			PreJump:  []string{"-i", s.ClusterInterface, "-j", dnat},
			PostJump: []string{"-o", s.EgressInterface, "-j", snat},
			SNAT:     [][]string{{"-j", "SNAT", "--to-source", src[f].String()}},
			Cluster:  s.ClusterInterface, Egress: s.EgressInterface, Source: src[f],
		}
		sets[f] = rs
		return rs, nil
	}
	for _, r := range s.Destinations.Rules {
		rs, err := get(r.IP)
		if err != nil {
			return nil, err
		}
		rs.DNAT = append(rs.DNAT, []string{"-p", r.Proto, "-m", r.Proto, "--dport", strconv.Itoa(r.Port),
			"-j", "DNAT", "--to-destination", hostPort(r.IP, r.RemotePort)})
		rs.Rules = append(rs.Rules, r)
	}
	for _, fb := range s.Destinations.Fallbacks {
		rs, err := get(fb)
		if err != nil {
			return nil, err
		}
		rs.DNAT = append(rs.DNAT, []string{"-j", "DNAT", "--to-destination", fb.String()})
		rs.Fallback = fb
	}
	var out []Ruleset
	for _, f := range []Family{4, 6} {
		if rs, ok := sets[f]; ok {
			out = append(out, *rs)
		}
	}
	return out, nil
}

// hostPort formats a DNAT target; IPv6 needs brackets around the address.
func hostPort(ip net.IP, port int) string {
	if familyOf(ip) == 6 {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

// Lines renders the ruleset as `iptables -t nat -S` lines, for dry runs,
// logs and CHECK messages.
func (rs Ruleset) Lines() []string {
	var out []string
	add := func(chain string, spec []string) {
		out = append(out, "-A "+chain+" "+joinSpec(spec))
	}
	add("PREROUTING", rs.PreJump)
	add("POSTROUTING", rs.PostJump)
	for _, r := range rs.DNAT {
		add(rs.DNATChain, r)
	}
	for _, r := range rs.SNAT {
		add(rs.SNATChain, r)
	}
	return out
}

func joinSpec(spec []string) string {
	s := ""
	for i, a := range spec {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
