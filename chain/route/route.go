// Package route makes the egress interface the pod's default route while
// cluster, service and master-host traffic stays on the cluster interface.
//
// A Plan says what an attachment's routes are; it is made from the
// config before the pod is looked at. Apply turns it into routes against
// the pod's links (the cluster interface's gateway is read there) and
// installs them. Every route it adds carries Protocol, so Check and
// Remove find exactly the routes this step owns without state files. The
// pod's default routes of each egress family are moved into SavedTable
// while the egress router is attached and moved back by Remove, so the
// pod returns to what it was.
//
// A pod has one default route per family, so it has at most one egress
// attachment per family, and an attachment owns the routes of the
// families whose default it moved: every route marked Protocol of those
// families, their saved defaults and the reply-path rules. Remove finds
// them again from the attachment's name alone: the families whose
// Protocol default goes through the egress interface (and, left behind
// by an attachment whose link is gone, the families with saved defaults
// but no Protocol default).
//
// Replies to connections that arrived on the cluster interface must go
// back out of it, whatever the client's address, cluster CIDRs or not:
// the NAT step marks their packets (netx.ReplyMark), and two policy rules
// send marked packets to the main table without its default routes
// (on-link and other specific routes stay direct), then to SavedTable,
// which holds the cluster interface's own default.
package route

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
)

// Protocol marks the routes egress-route owns (`ip route` shows "proto 69").
const Protocol netlink.RouteProtocol = 69

// SavedTable holds the cluster interface's default routes while the
// egress interface is the default (`ip route show table 17746`).
const SavedTable = 17746

// The reply-path rules' priorities (`ip rule` shows them): first the main
// table without its defaults, then the saved defaults.
const (
	RuleSpecific = 17745
	RuleDefault  = 17746
)

// replyRules are the reply-path policy rules of a family.
func replyRules(fam netx.Family) []netlink.Rule {
	mask := netx.ReplyMark
	specific := netlink.NewRule()
	specific.Family, specific.Priority, specific.Table = fam.Netlink(), RuleSpecific, unix.RT_TABLE_MAIN
	specific.Mark, specific.Mask, specific.SuppressPrefixlen, specific.Protocol = netx.ReplyMark, &mask, 0, uint8(Protocol)
	saved := netlink.NewRule()
	saved.Family, saved.Priority, saved.Table = fam.Netlink(), RuleDefault, SavedTable
	saved.Mark, saved.Mask, saved.Protocol = netx.ReplyMark, &mask, uint8(Protocol)
	return []netlink.Rule{*specific, *saved}
}

// describeRule renders a rule for messages, like `ip rule` would.
func describeRule(r netlink.Rule) string {
	s := fmt.Sprintf("%d: fwmark %#x/%#x lookup %d", r.Priority, r.Mark, netx.ReplyMark, r.Table)
	if r.SuppressPrefixlen >= 0 {
		s += fmt.Sprintf(" suppress_prefixlength %d", r.SuppressPrefixlen)
	}
	return s
}

// Plan is one attachment's routes as the config gives them.
type Plan struct {
	// Egress is the egress interface (CNI_IFNAME), Cluster the pod's
	// cluster-network interface (eth0).
	Egress, Cluster string
	// Addrs are the egress interface's addresses, for messages.
	Addrs []*net.IPNet
	// ViaCluster are destinations kept on the cluster interface: cluster
	// and service CIDRs, and the master host's addresses, which a macvlan
	// cannot reach through its own master.
	ViaCluster []*net.IPNet
	// Gateways are the egress gateways, at most one per family: each
	// family with one moves its default route to the egress interface.
	Gateways []net.IP
}

// Families are the families whose default route moves to the egress
// interface.
func (p Plan) Families() []netx.Family {
	var out []netx.Family
	for _, g := range p.Gateways {
		out = append(out, netx.FamilyOf(g))
	}
	return out
}

// Routes turns the plan into routes on the pod's links: egressIdx and
// clusterIdx are the links' indices, clusterGW gives the cluster
// interface's gateway of a family (asked only for families with routes
// to keep on it). The order is the install order: via the cluster
// interface, the gateway host routes, then the defaults.
func (p Plan) Routes(egressIdx, clusterIdx int, clusterGW func(netx.Family) (net.IP, error)) ([]netlink.Route, error) {
	var viaCluster, gwHosts, defaults []netlink.Route
	for _, fam := range netx.Families {
		var keep []*net.IPNet
		for _, n := range p.ViaCluster {
			if netx.FamilyOf(n.IP) == fam {
				keep = append(keep, n)
			}
		}
		if len(keep) == 0 {
			continue
		}
		gw, err := clusterGW(fam)
		if err != nil {
			var te *types.Error
			if errors.As(err, &te) {
				return nil, types.NewError(te.Code, fmt.Sprintf("%s (needed for %v)", te.Msg, keep), te.Details)
			}
			return nil, err
		}
		for _, n := range keep {
			r := netlink.Route{Dst: n, Gw: gw, LinkIndex: clusterIdx, Protocol: Protocol, Table: unix.RT_TABLE_MAIN}
			if gw == nil {
				r.Scope = netlink.SCOPE_LINK
			}
			viaCluster = append(viaCluster, r)
		}
	}
	for _, gw := range p.Gateways {
		gwHosts = append(gwHosts, netlink.Route{Dst: netx.HostNet(gw), LinkIndex: egressIdx, Scope: netlink.SCOPE_LINK, Protocol: Protocol, Table: unix.RT_TABLE_MAIN})
		defaults = append(defaults, netlink.Route{Dst: netx.DefaultNet(netx.FamilyOf(gw)), Gw: gw, LinkIndex: egressIdx, Protocol: Protocol, Table: unix.RT_TABLE_MAIN})
	}
	return append(append(viaCluster, gwHosts...), defaults...), nil
}

// noGateway is the error for a plan that would move no default route.
func (p Plan) noGateway() error {
	return cnierr.Config("gateway: none configured and no address of %q in prevResult has one %v; set gateway", p.Egress, p.Addrs)
}

// RuleLines renders the reply-path rules as `ip rule` shows them.
func (p Plan) RuleLines() []string {
	var out []string
	for _, f := range p.Families() {
		for _, r := range replyRules(f) {
			out = append(out, fmt.Sprintf("%s (%s)", describeRule(r), f))
		}
	}
	return out
}

// Lines renders the routes as `ip route` shows them, for dry runs, with
// the cluster interface's gateway (only known inside the pod) written as
// <eth0 gateway>.
func (p Plan) Lines() []string {
	const egressIdx, clusterIdx = 2, 1
	unknown := func(netx.Family) (net.IP, error) { return net.IPv4zero, nil }
	rs, _ := p.Routes(egressIdx, clusterIdx, unknown)
	var out []string
	for _, r := range rs {
		dst := strings.TrimSuffix(strings.TrimSuffix(r.Dst.String(), "/32"), "/128")
		switch {
		case r.LinkIndex == clusterIdx:
			out = append(out, fmt.Sprintf("%s via <%s gateway> dev %s", dst, p.Cluster, p.Cluster))
		case r.Gw == nil:
			out = append(out, fmt.Sprintf("%s dev %s scope link", dst, p.Egress))
		default:
			out = append(out, fmt.Sprintf("default via %s dev %s", r.Gw, p.Egress))
		}
	}
	return out
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
	if netx.IsDefault(r.Dst) {
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
