package config

import (
	"fmt"
	"net"
	"slices"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/netx"
)

// masterLink is the host link the egress interface sits on, as seen from the
// namespace the plugin runs in (the node).
type masterLink struct {
	Link string
	IPs  []net.IP
	How  string // how it was found, for logs and errors
}

// findMaster finds the egress link's master in the node's netns, which h
// reaches and whose addresses are all: the parent link when the pod-side
// link names one, else the single host link whose subnet contains an
// egress address, else the host's default-route link. parentIndex is 0
// when unknown.
func findMaster(h netlinksafe.Handle, all []netlink.Addr, parentIndex int, egressAddrs []*net.IPNet) (*masterLink, error) {
	// A known parent is one lookup; listing every link costs a node with
	// hundreds of pods' veths far more.
	if parentIndex > 0 {
		if l, err := h.LinkByIndex(parentIndex); err == nil {
			return masterOf(l, "parent of the egress link", all), nil
		}
	}
	// The addresses are one dump, not one per link: a node holds a veth
	// per pod.
	var matches []int
	for _, a := range all {
		if a.IPNet == nil || slices.Contains(matches, a.LinkIndex) {
			continue
		}
		for _, e := range egressAddrs {
			if a.IPNet.Contains(e.IP) {
				matches = append(matches, a.LinkIndex)
				break
			}
		}
	}
	var links []netlink.Link
	for _, i := range matches {
		l, err := h.LinkByIndex(i)
		if err != nil {
			return nil, fmt.Errorf("failed to read host link %d: %w", i, err)
		}
		if l.Attrs().Flags&net.FlagLoopback == 0 {
			links = append(links, l)
		}
	}
	if len(links) == 1 {
		return masterOf(links[0], "host link on the egress subnet", all), nil
	}
	if len(links) > 1 {
		names := []string{}
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		return nil, fmt.Errorf("several host links are on the egress subnet (%v); name the master explicitly", names)
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			continue
		}
		for i := range routes {
			if netx.IsDefault(routes[i].Dst) && routes[i].LinkIndex > 0 {
				if l, err := h.LinkByIndex(routes[i].LinkIndex); err == nil {
					return masterOf(l, "host default-route link", all), nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no host link found for the egress addresses %v (no parent link, none on the subnet, no default route)", egressAddrs)
}

// masterOf names the link with its global addresses among all: the ones
// a macvlan child cannot reach directly.
func masterOf(l netlink.Link, how string, all []netlink.Addr) *masterLink {
	return &masterLink{Link: l.Attrs().Name, How: how, IPs: globalIPs(all, l.Attrs().Index)}
}

// globalIPs are the addresses of link index among addrs, without
// link-local and loopback ones.
func globalIPs(addrs []netlink.Addr, index int) []net.IP {
	var out []net.IP
	for _, a := range addrs {
		if a.LinkIndex != index || a.IP.IsLinkLocalUnicast() || a.IP.IsLoopback() {
			continue
		}
		out = append(out, a.IP)
	}
	return out
}
