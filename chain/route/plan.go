package route

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
)

// Plan is the routes one attachment owns in the pod, in install order.
type Plan struct {
	Egress  netlink.Link
	Cluster netlink.Link
	// Routes are added in this order: via the cluster interface, the
	// gateway host routes, then the defaults via the egress interface.
	Routes []netlink.Route
	// Families are the families whose default route moves to the egress link.
	Families []int
}

// PodLinks looks up the egress and cluster links in the current (pod) netns.
func PodLinks(egressName, clusterName string) (egress, cluster netlink.Link, err error) {
	if egress, err = netlinksafe.LinkByName(egressName); err != nil {
		return nil, nil, cnierr.Config("egress interface %q not found in the pod: %v", egressName, err)
	}
	if cluster, err = netlinksafe.LinkByName(clusterName); err != nil {
		return nil, nil, cnierr.Config("clusterInterface %q not found in the pod: %v", clusterName, err)
	}
	if egress.Attrs().Index == cluster.Attrs().Index {
		return nil, nil, cnierr.Config("clusterInterface %q is the egress interface itself", clusterName)
	}
	return egress, cluster, nil
}

// ClusterDefaults returns the cluster interface's default routes of a
// family: from SavedTable when the egress router is attached, else from
// the main table.
func ClusterDefaults(cluster netlink.Link, fam int) ([]netlink.Route, error) {
	for _, table := range []int{SavedTable, unix.RT_TABLE_MAIN} {
		rs, err := netlinksafe.RouteListFiltered(fam, &netlink.Route{Table: table, LinkIndex: cluster.Attrs().Index},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_OIF)
		if err != nil {
			return nil, fmt.Errorf("failed to list %s routes of %q: %v", famName(fam), cluster.Attrs().Name, err)
		}
		var out []netlink.Route
		for i := range rs {
			if isDefault(&rs[i]) && rs[i].Protocol != Protocol {
				out = append(out, rs[i])
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, nil
}

// ClusterGateway returns the gateway of the cluster interface's default
// route of a family, in the current (pod) netns: where the routes kept on
// the cluster interface go.
func ClusterGateway(cluster netlink.Link) func(fam int) (net.IP, error) {
	return func(fam int) (net.IP, error) {
		defs, err := ClusterDefaults(cluster, fam)
		if err != nil {
			return nil, err
		}
		if len(defs) == 0 {
			return nil, cnierr.Config("clusterInterface %q has no %s default route to take the cluster gateway from", cluster.Attrs().Name, famName(fam))
		}
		return lowestMetric(defs).Gw, nil
	}
}

// MakePlan computes the routes for an attachment. It looks at nothing
// itself: masterIPs were found in the host netns, and clusterGW (asked
// only when routes need it) reads the pod's, so egress-chain's dry run
// computes exactly what ADD installs. Families without a gateway get no
// egress routes (p.Families says which have them).
func MakePlan(cfg *Config, eg *attach.Egress, egress, cluster netlink.Link, masterIPs []net.IP, clusterGW func(fam int) (net.IP, error)) (*Plan, error) {
	p := &Plan{Egress: egress, Cluster: cluster}
	var viaCluster, gwHosts, defaults []netlink.Route
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		want := 4
		if fam == netlink.FAMILY_V6 {
			want = 6
		}
		addrs, gws := eg.Family(want)

		// Destinations to keep on the cluster interface, for this family.
		var keep []*net.IPNet
		for _, n := range cfg.ViaCluster {
			if family(n.IP) == fam {
				keep = append(keep, n)
			}
		}
		if len(addrs) > 0 && !cfg.NoMasterRoutes {
			for _, ip := range masterIPs {
				if family(ip) == fam {
					keep = append(keep, hostNet(ip))
				}
			}
		}
		if len(keep) > 0 {
			gw, err := clusterGW(fam)
			if err != nil {
				var te *types.Error
				if errors.As(err, &te) {
					return nil, types.NewError(te.Code, fmt.Sprintf("%s (needed for %v)", te.Msg, keep), te.Details)
				}
				return nil, err
			}
			for _, n := range keep {
				r := netlink.Route{Dst: n, Gw: gw, LinkIndex: cluster.Attrs().Index, Protocol: Protocol, Table: unix.RT_TABLE_MAIN}
				if gw == nil {
					r.Scope = netlink.SCOPE_LINK
				}
				viaCluster = append(viaCluster, r)
			}
		}
		if len(addrs) == 0 {
			continue
		}

		gw := pickGateway(cfg.Gateways, fam, gws)
		if gw == nil {
			continue
		}
		p.Families = append(p.Families, fam)
		gwHosts = append(gwHosts, netlink.Route{Dst: hostNet(gw), LinkIndex: egress.Attrs().Index, Scope: netlink.SCOPE_LINK, Protocol: Protocol, Table: unix.RT_TABLE_MAIN})
		defaults = append(defaults, netlink.Route{Dst: defaultNet(fam), Gw: gw, LinkIndex: egress.Attrs().Index, Protocol: Protocol, Table: unix.RT_TABLE_MAIN})
	}
	p.Routes = append(append(viaCluster, gwHosts...), defaults...)
	return p, nil
}

func pickGateway(explicit []net.IP, fam int, fromResult []net.IP) net.IP {
	for _, g := range explicit {
		if family(g) == fam {
			return g
		}
	}
	for _, g := range fromResult {
		if g != nil && !g.IsUnspecified() {
			return g
		}
	}
	return nil
}

func lowestMetric(rs []netlink.Route) netlink.Route {
	best := rs[0]
	for _, r := range rs[1:] {
		if r.Priority < best.Priority {
			best = r
		}
	}
	return best
}

// sameRoute compares what matters for forwarding: table, destination,
// gateway and output link.
func sameRoute(a, b *netlink.Route) bool {
	return tableOf(a) == tableOf(b) && a.LinkIndex == b.LinkIndex && a.Gw.Equal(b.Gw) && dstString(a) == dstString(b)
}

func tableOf(r *netlink.Route) int {
	if r.Table == 0 {
		return unix.RT_TABLE_MAIN
	}
	return r.Table
}

func dstString(r *netlink.Route) string {
	if r.Dst == nil {
		return "default"
	}
	if ones, _ := r.Dst.Mask.Size(); ones == 0 {
		return "default"
	}
	return r.Dst.String()
}

// Describe renders a route for messages, like `ip route` would.
func Describe(r *netlink.Route, names map[int]string) string {
	s := dstString(r)
	if r.Gw != nil {
		s += " via " + r.Gw.String()
	}
	if n, ok := names[r.LinkIndex]; ok {
		s += " dev " + n
	}
	if t := tableOf(r); t != unix.RT_TABLE_MAIN {
		s += fmt.Sprintf(" table %d", t)
	}
	return s
}

func (p *Plan) names() map[int]string {
	return map[int]string{p.Egress.Attrs().Index: p.Egress.Attrs().Name, p.Cluster.Attrs().Index: p.Cluster.Attrs().Name}
}

func isExist(err error) bool {
	return err != nil && (errors.Is(err, errEEXIST))
}
