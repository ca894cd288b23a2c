package config

import (
	"net"
	"strings"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/nat"
)

// parseBackend validates a `backend` field; "" is auto.
func parseBackend(field, s string) (nat.Backend, error) {
	switch b := nat.Backend(strings.ToLower(strings.TrimSpace(s))); b {
	case "", nat.Auto:
		return nat.Auto, nil
	case nat.IPTables, nat.NFTables:
		return b, nil
	}
	return "", cnierr.Config("%s %q is not a NAT backend; use iptables, nftables or auto", field, s)
}

// natSettings are egress-nat's validated fields, before the attachment is
// known.
type natSettings struct {
	cluster      string
	destinations dest.Set
	source       net.IP
	backend      nat.Backend
}

// settings validates egress-nat's fields. Unlike egress-router, which
// then only routes, egress-nat without destinations would do nothing.
func (c *NATConf) settings() (*natSettings, error) {
	s := &natSettings{}
	var err error
	if s.cluster, err = c.Cluster.name(); err != nil {
		return nil, err
	}
	if s.destinations, err = dest.Parse("destinations", c.Destinations, "fallbackIP", c.FallbackIP); err != nil {
		return nil, err
	}
	if s.destinations.Empty() {
		return nil, cnierr.Config("destinations: empty; give at least one destination or a fallbackIP")
	}
	if s.backend, err = parseBackend("backend", c.Backend); err != nil {
		return nil, err
	}
	if src := strings.TrimSpace(c.Source); src != "" {
		if s.source = net.ParseIP(src); s.source == nil {
			return nil, cnierr.Config("source %q is not an IP address", c.Source)
		}
	}
	return s, nil
}

// natSpec is the NAT of one attachment, for both forms: the source
// defaults to the egress interface's addresses, and an explicit source
// must be one of them (replies to any other address would not come back
// to this interface).
func natSpec(cluster, egress string, dests dest.Set, source net.IP, addrs []*net.IPNet) (nat.Spec, error) {
	s := nat.Spec{ClusterInterface: cluster, EgressInterface: egress, Destinations: dests}
	if source != nil {
		found := false
		for _, a := range addrs {
			found = found || a.IP.Equal(source)
		}
		if !found {
			return nat.Spec{}, cnierr.Config("source %s is not an address of the egress interface %q %v", source, egress, addrs)
		}
		s.Sources = append(s.Sources, source)
	}
	for _, a := range addrs {
		s.Sources = append(s.Sources, a.IP)
	}
	return s, nil
}
