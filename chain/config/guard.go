package config

import (
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/policy"
	"github.com/egress-router/egress-router/chain/route"
)

// The guards: a config is untrusted (a namespace admin may write it) and
// the plugins run as root, so what it asks for is checked against the
// node's policy and the node itself before anything is created or
// announced. Each message names the field and the value.

// guardAddrs checks reserved (or prevResult's) addresses against the
// policy and the cluster networks: a reserved address inside the pod
// network would take traffic meant for pods.
func guardAddrs(pol *policy.Policy, podNS, field string, addrs []*net.IPNet, viaCluster []*net.IPNet) error {
	if err := pol.CheckNamespace(podNS); err != nil {
		return cnierr.Config("%s: %v", field, err)
	}
	for _, a := range addrs {
		if err := pol.CheckAddress(podNS, a); err != nil {
			return cnierr.Config("%s %q: %v", field, a, err)
		}
		for _, n := range viaCluster {
			if n.Contains(a.IP) {
				return cnierr.Config("%s %q: lies in the cluster or service network %s", field, a, n)
			}
		}
	}
	return nil
}

// guardDests checks destinations against the namespace's limits.
func guardDests(pol *policy.Policy, podNS, field string, set dest.Set) error {
	for _, ip := range set.IPs() {
		if err := pol.CheckDestination(podNS, ip); err != nil {
			return cnierr.Config("%s: %v", field, err)
		}
	}
	return nil
}

// guardMaster checks the host link an egress interface sits on.
func guardMaster(pol *policy.Policy, field, master string) error {
	if !pol.AllowsMaster(master) {
		return cnierr.Config("%s %q: not a master link %s allows", field, master, pol.Source)
	}
	return nil
}

// onNode runs f with a netlink socket in the netns we run in (the
// node's), one for all of a command's lookups there, and the node's
// addresses, listed once for every check that needs them: on a small
// node a socket or a dump costs more than the decision made from it.
func onNode(f func(h netlinksafe.Handle, have []netlink.Addr) error) error {
	h, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return cnierr.IO("failed to open a netlink socket on the node: %v", err)
	}
	defer h.Close()
	have, err := netx.AddrList(h, nil, netlink.FAMILY_ALL)
	if err != nil {
		return cnierr.IO("failed to list the node's addresses: %v", err)
	}
	return f(h, have)
}

// guardNode checks that no reserved address is an address of the node
// (have): announcing it would take the node's own traffic (or its
// gateway's, checked with the config).
func guardNode(field string, addrs []*net.IPNet, have []netlink.Addr) error {
	for _, a := range addrs {
		for _, h := range have {
			if h.IPNet != nil && h.IP.Equal(a.IP) {
				return cnierr.Config("%s %q: is an address of this node", field, a)
			}
		}
	}
	return nil
}

// podFacts are what guardPod learnt in the pod.
type podFacts struct {
	// clusterSubnets are the subnets of the cluster interface's
	// addresses, which the kernel routes there already.
	clusterSubnets []*net.IPNet
}

// guardPod checks, inside the pod, that the cluster interface exists,
// that no reserved address lies in one of its subnets, and that no other
// attachment already takes a family of the addresses out of the pod: a
// pod has one default route per family, so one egress attachment per
// family.
func guardPod(env Env, cluster, field string, addrs []*net.IPNet) (podFacts, error) {
	var facts podFacts
	err := env.podNetlink(func(h netlinksafe.Handle) error {
		l, err := h.LinkByName(cluster)
		if err != nil {
			return cnierr.Config("clusterInterface %q not found in the pod: %v; the cluster network must be attached before the egress one", cluster, err)
		}
		have, err := netx.AddrList(h, l, netlink.FAMILY_ALL)
		if err != nil {
			return cnierr.IO("failed to list the addresses of %q in the pod: %v", cluster, err)
		}
		for _, a := range have {
			if a.IPNet == nil || a.IP.IsLinkLocalUnicast() {
				continue
			}
			subnet := &net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask}
			facts.clusterSubnets = append(facts.clusterSubnets, subnet)
			for _, mine := range addrs {
				if subnet.Contains(mine.IP) {
					return cnierr.Config("%s %q: lies in the subnet %s of the pod's cluster interface %s", field, mine, subnet, cluster)
				}
			}
		}
		return guardFamilies(h, env.IfName, field, addrs)
	})
	return facts, err
}

// guardFamilies refuses an attachment whose family another attachment
// already takes out of the pod (h is the pod's).
func guardFamilies(h netlinksafe.Handle, ifName, field string, addrs []*net.IPNet) error {
	for _, fam := range netx.Families {
		var mine *net.IPNet
		for _, a := range addrs {
			if netx.FamilyOf(a.IP) == fam {
				mine = a
			}
		}
		if mine == nil {
			continue
		}
		rs, err := h.RouteListFiltered(fam.Netlink(), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return cnierr.IO("failed to list the pod's %s routes: %v", fam, err)
		}
		for _, r := range rs {
			if r.Protocol != route.Protocol || !netx.IsDefault(r.Dst) {
				continue
			}
			if l, err := h.LinkByIndex(r.LinkIndex); err == nil && l.Attrs().Name != ifName {
				return cnierr.Config("%s %q: the pod's %s traffic already leaves through the egress attachment %s; a pod has one egress attachment per family", field, mine, fam, l.Attrs().Name)
			}
		}
	}
	return nil
}

// withoutConnected drops the networks that equal or lie inside one of
// the subnets (the cluster interface's own, which the kernel routes
// already: a route of ours there would clash with it), and says which.
func withoutConnected(nets, subnets []*net.IPNet) (keep []*net.IPNet, notes []string) {
	for _, n := range nets {
		inside := ""
		for _, s := range subnets {
			nOnes, _ := n.Mask.Size()
			sOnes, _ := s.Mask.Size()
			if netx.FamilyOf(n.IP) == netx.FamilyOf(s.IP) && s.Contains(n.IP) && nOnes >= sOnes {
				inside = s.String()
			}
		}
		if inside != "" {
			notes = append(notes, fmt.Sprintf("%s needs no route of ours: it lies in %s, the cluster interface's own subnet", n, inside))
			continue
		}
		keep = append(keep, n)
	}
	return keep, notes
}

// linkSubnets are the subnets of link index's global addresses, among
// addrs.
func linkSubnets(addrs []netlink.Addr, index int) []*net.IPNet {
	var out []*net.IPNet
	for _, a := range addrs {
		if a.LinkIndex == index && a.IPNet != nil && !a.IP.IsLinkLocalUnicast() {
			out = append(out, &net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask})
		}
	}
	return out
}
