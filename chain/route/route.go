// Package route makes the egress interface the pod's default route while
// cluster, service and master-host traffic stays on the cluster interface.
//
// Every route it adds carries Protocol, so DEL and CHECK find exactly the
// routes this step owns without state files. The pod's default routes of
// each egress family are moved into SavedTable while the egress router is
// attached and moved back on DEL, so the pod returns to what it was.
//
// A pod has one default route per family, so it has at most one egress
// attachment: DEL removes every route marked Protocol in the pod.
package route

import (
	"net"

	"github.com/vishvananda/netlink"
)

// Protocol marks the routes egress-route owns (`ip route` shows "proto 69").
const Protocol netlink.RouteProtocol = 69

// SavedTable holds the cluster interface's default routes while the
// egress interface is the default (`ip route show table 17746`).
const SavedTable = 17746

// Config is what the route step needs besides the attachment itself.
type Config struct {
	// ClusterInterface is the pod's cluster-network interface (eth0).
	ClusterInterface string
	// ViaCluster are networks kept on the cluster interface: cluster and
	// service CIDRs.
	ViaCluster []*net.IPNet
	// Gateways are explicit egress gateways, at most one per family; when
	// a family has none the address's gateway from prevResult is used.
	Gateways []net.IP
	// MasterIPs, when non-nil, are the master host's addresses to route
	// via the cluster interface instead of discovering them.
	MasterIPs []net.IP
	// NoMasterRoutes turns off the master host routes (e.g. ipvlan L3).
	NoMasterRoutes bool
}

func family(ip net.IP) int {
	if ip.To4() != nil {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

func hostNet(ip net.IP) *net.IPNet {
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(128, 128)}
}

func defaultNet(fam int) *net.IPNet {
	if fam == netlink.FAMILY_V4 {
		return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
}

func isDefault(r *netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}

func famName(fam int) string {
	if fam == netlink.FAMILY_V4 {
		return "IPv4"
	}
	return "IPv6"
}
