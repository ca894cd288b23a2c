package config

import (
	"net"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/plan"
	"github.com/egress-router/egress-router/chain/route"
)

// defaultClusterInterface is the pod's cluster-network interface name.
const defaultClusterInterface = "eth0"

// routeSettings are the validated route options.
type routeSettings struct {
	clusterInterface string
	// viaCluster are the cluster and service CIDRs, in that order.
	viaCluster []*net.IPNet
	// gateways are explicit egress gateways, at most one per family.
	gateways []net.IP
	// masterIPs, when non-nil, are the master host's addresses to route
	// via the cluster interface instead of discovering them.
	masterIPs      []net.IP
	noMasterRoutes bool
}

// clusterInterface validates the cluster interface name, eth0 by default.
func (c Cluster) name() (string, error) {
	name := c.ClusterInterface
	if name == "" {
		name = defaultClusterInterface
	}
	return name, validIfName("clusterInterface", name)
}

// settings validates the route options; gateway is egress-route's own
// field ("" in egress-router, whose gateways are in ip).
func (o RouteOptions) settings(c Cluster, gateway string) (*routeSettings, error) {
	s := &routeSettings{}
	var err error
	if s.clusterInterface, err = c.name(); err != nil {
		return nil, err
	}
	cl, err := parseCIDRs("clusterCIDRs", o.ClusterCIDRs)
	if err != nil {
		return nil, err
	}
	svc, err := parseCIDRs("serviceCIDRs", o.ServiceCIDRs)
	if err != nil {
		return nil, err
	}
	s.viaCluster = append(cl, svc...)
	if gateway != "" {
		gws, err := parseIPs("gateway", []string{gateway})
		if err != nil {
			return nil, cnierr.Config("gateway %q is not an IP address", gateway)
		}
		s.gateways = gws
	}
	if o.MasterRoutes != nil && !*o.MasterRoutes {
		if len(o.MasterIPs) > 0 {
			return nil, cnierr.Config("masterIPs %v is set but masterRoutes is false; remove one", o.MasterIPs)
		}
		s.noMasterRoutes = true
	}
	if o.MasterIPs != nil {
		if s.masterIPs, err = parseIPs("masterIPs", o.MasterIPs); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// needsMaster says whether the master's addresses must be discovered.
func (s *routeSettings) needsMaster() bool { return s.masterIPs == nil && !s.noMasterRoutes }

// plan is the route step for an egress interface with these addresses.
// explicit are the gateways the config gives; fromResult are the
// addresses' own gateways (prevResult), used for families without an
// explicit one; master are the master host's addresses when discovered.
//
// An attachment routes only in the families whose default it takes:
// what stays on the cluster interface matters only where the default
// leaves it, and another family may be another attachment's.
func (s *routeSettings) plan(egress string, addrs []*net.IPNet, explicit, fromResult, master []net.IP) route.Plan {
	p := route.Plan{Egress: egress, Cluster: s.clusterInterface, Addrs: addrs}
	if s.masterIPs != nil {
		master = s.masterIPs
	}
	for _, fam := range netx.Families {
		has := false
		for _, a := range addrs {
			has = has || netx.FamilyOf(a.IP) == fam
		}
		gw := pickGateway(fam, explicit, fromResult)
		if !has || gw == nil {
			continue
		}
		p.Gateways = append(p.Gateways, gw)
		for _, n := range s.viaCluster {
			if netx.FamilyOf(n.IP) == fam {
				p.ViaCluster = append(p.ViaCluster, n)
			}
		}
		if !s.noMasterRoutes {
			for _, ip := range master {
				if netx.FamilyOf(ip) == fam {
					p.ViaCluster = append(p.ViaCluster, netx.HostNet(ip))
				}
			}
		}
	}
	return p
}

func pickGateway(fam netx.Family, explicit, fromResult []net.IP) net.IP {
	for _, g := range explicit {
		if netx.FamilyOf(g) == fam {
			return g
		}
	}
	for _, g := range fromResult {
		if g != nil && !g.IsUnspecified() && netx.FamilyOf(g) == fam {
			return g
		}
	}
	return nil
}

// egressGateways are the result's gateways of an egress interface.
func egressGateways(eg *plan.Egress) []net.IP {
	var out []net.IP
	for _, g := range eg.Gateways {
		if g != nil {
			out = append(out, g)
		}
	}
	return out
}

// validIfName checks a Linux interface name.
func validIfName(field, name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return cnierr.Config("%s %q is not a valid interface name (1-15 characters)", field, name)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r == 0x7f {
			return cnierr.Config("%s %q is not a valid interface name (no '/', ':' or white space)", field, name)
		}
	}
	return nil
}

// parseCIDRs parses a config field's networks, naming the field and value
// on error.
func parseCIDRs(field string, vals []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for i, v := range vals {
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return nil, cnierr.Config("%s[%d] %q is not a CIDR", field, i, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseIPs parses a config field's addresses, naming the field and value
// on error.
func parseIPs(field string, vals []string) ([]net.IP, error) {
	out := make([]net.IP, 0, len(vals))
	for i, v := range vals {
		ip := net.ParseIP(v)
		if ip == nil {
			return nil, cnierr.Config("%s[%d] %q is not an IP address", field, i, v)
		}
		out = append(out, ip)
	}
	return out, nil
}
