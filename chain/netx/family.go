// Package netx holds the small network helpers the chain packages share:
// the IP family of an address, the host prefix and default route of a
// family, and opening a pod's network namespace.
package netx

import (
	"net"

	"github.com/vishvananda/netlink"
)

// Family is an IP family, 4 or 6 (printed with %d in "IPv%d" messages).
type Family int

// The two families, IPv4 first: the order every list in the chain uses.
const (
	V4 Family = 4
	V6 Family = 6
)

// Families lists both families in the chain's order.
var Families = []Family{V4, V6}

// FamilyOf returns the family of ip.
func FamilyOf(ip net.IP) Family {
	if ip.To4() != nil {
		return V4
	}
	return V6
}

// Netlink returns the family as netlink numbers it (FAMILY_V4, FAMILY_V6).
func (f Family) Netlink() int {
	if f == V4 {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// String is "IPv4" or "IPv6".
func (f Family) String() string {
	if f == V4 {
		return "IPv4"
	}
	return "IPv6"
}

// Bits is the address length of the family.
func (f Family) Bits() int {
	if f == V4 {
		return 32
	}
	return 128
}

// HostNet is the prefix covering exactly ip (/32 or /128).
func HostNet(ip net.IP) *net.IPNet {
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(128, 128)}
}

// DefaultNet is the family's default destination (0.0.0.0/0 or ::/0).
func DefaultNet(f Family) *net.IPNet {
	if f == V4 {
		return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
}

// IsDefault reports whether a route destination is a default (nil counts).
func IsDefault(dst *net.IPNet) bool {
	if dst == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0
}

// Canonical returns an IPv4 address in its 4-byte form, others unchanged,
// so addresses compare and print one way.
func Canonical(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// ReplyMark marks the packets of connections that arrived on the pod's
// cluster interface, on their way back (the NAT step sets it in the
// conntrack entry and copies it to reply packets); the route step's
// policy rules send such packets through the cluster interface's routes,
// whatever the client's address. One bit, so other marks survive.
const ReplyMark uint32 = 0x20000000
