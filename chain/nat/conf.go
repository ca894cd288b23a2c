package nat

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/route"
)

// Lines is a list of destination lines. JSON may give an array of strings
// or one string holding several lines, as EGRESS_DESTINATION did.
type Lines []string

// UnmarshalJSON accepts a string or an array of strings.
func (l *Lines) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = Lines{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("destinations: want a string or an array of strings, got %s", b)
	}
	*l = many
	return nil
}

// Options are egress-nat's configuration fields.
type Options struct {
	ClusterInterface string `json:"clusterInterface,omitempty"`
	Destinations     Lines  `json:"destinations,omitempty"`
	FallbackIP       string `json:"fallbackIP,omitempty"`
	Source           string `json:"source,omitempty"`
	// Backend is iptables, nftables or auto (the default).
	Backend string `json:"backend,omitempty"`
}

// Parsed is validated egress-nat configuration, before the attachment is
// known.
type Parsed struct {
	ClusterInterface string
	Destinations     dest.Set
	Source           net.IP
	Backend          string
}

// Parse validates the options and applies defaults.
func (o *Options) Parse() (*Parsed, error) {
	p := &Parsed{ClusterInterface: o.ClusterInterface}
	if p.ClusterInterface == "" {
		p.ClusterInterface = route.DefaultClusterInterface
	}
	if err := route.ValidateIfName("clusterInterface", p.ClusterInterface); err != nil {
		return nil, err
	}
	set, err := dest.Parse("destinations", o.Destinations, "fallbackIP", o.FallbackIP)
	if err != nil {
		return nil, err
	}
	if set.Empty() {
		return nil, cnierr.Config("destinations: empty; give at least one destination or a fallbackIP")
	}
	p.Destinations = set
	if p.Backend, err = ParseBackend("backend", o.Backend); err != nil {
		return nil, err
	}
	if s := strings.TrimSpace(o.Source); s != "" {
		if p.Source = net.ParseIP(s); p.Source == nil {
			return nil, cnierr.Config("source %q is not an IP address", o.Source)
		}
	}
	return p, nil
}

// Spec combines the configuration with the attachment: the source
// defaults to the egress interface's addresses, and an explicit source
// must be one of them (replies to any other address would not come back
// to this interface).
func (p *Parsed) Spec(eg *attach.Egress) (Spec, error) {
	s := Spec{ClusterInterface: p.ClusterInterface, EgressInterface: eg.IfName, Destinations: p.Destinations}
	if p.Source != nil {
		found := false
		for _, a := range eg.Addrs {
			found = found || a.IP.Equal(p.Source)
		}
		if !found {
			return Spec{}, cnierr.Config("source %s is not an address of the egress interface %q %v", p.Source, eg.IfName, eg.Addrs)
		}
		s.Sources = append(s.Sources, p.Source)
	}
	for _, a := range eg.Addrs {
		s.Sources = append(s.Sources, a.IP)
	}
	return s, nil
}
