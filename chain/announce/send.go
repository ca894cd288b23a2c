// Package announce tells the egress network that the reserved addresses
// now live on this interface: they move with the pod, and neighbours would
// otherwise keep the old MAC until their caches time out. The legacy
// router ran `arping -A` and `arping -U`; IPv6 needs an unsolicited
// neighbour advertisement. Frames are built here and sent on a raw packet
// socket, so no tool has to exist in the pod or on the node.
package announce

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"golang.org/x/sys/unix"
)

var (
	broadcastMAC  = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allNodesMAC   = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	allNodesIPv6  = net.ParseIP("ff02::1")
	zeroMAC       = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	ethTypeARP    = uint16(unix.ETH_P_ARP)
	ethTypeIPv6   = uint16(unix.ETH_P_IPV6)
	arpRequest    = uint16(1)
	arpReply      = uint16(2)
	naOverrideBit = byte(0x20)
)

// Send announces ips on the link ifName in the current network namespace:
// per IPv4 address a gratuitous ARP reply and request, per IPv6 address an
// unsolicited neighbour advertisement to all nodes. Links without an
// Ethernet address have no neighbours to tell.
func Send(ifName string, ips []net.IP) error {
	if len(ips) == 0 {
		return nil
	}
	l, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("announce on %q: %w", ifName, err)
	}
	mac := l.Attrs().HardwareAddr
	if len(mac) != 6 {
		return nil
	}
	// Protocol 0: a send-only socket that never queues received frames.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return fmt.Errorf("announce on %q: packet socket: %w", ifName, err)
	}
	defer unix.Close(fd)
	send := func(dst net.HardwareAddr, frame []byte, what string) error {
		sa := &unix.SockaddrLinklayer{Ifindex: l.Attrs().Index, Halen: 6}
		copy(sa.Addr[:], dst)
		if err := unix.Sendto(fd, frame, 0, sa); err != nil {
			return fmt.Errorf("announce %s on %q: %w", what, ifName, err)
		}
		return nil
	}
	for _, ip := range ips {
		if v4 := ip.To4(); v4 != nil {
			if err := send(broadcastMAC, ARP(mac, v4, arpReply), "gratuitous ARP reply for "+ip.String()); err != nil {
				return err
			}
			if err := send(broadcastMAC, ARP(mac, v4, arpRequest), "gratuitous ARP request for "+ip.String()); err != nil {
				return err
			}
			continue
		}
		if err := send(allNodesMAC, NA(mac, ip.To16()), "neighbour advertisement for "+ip.String()); err != nil {
			return err
		}
	}
	return nil
}

func ethernet(dst, src net.HardwareAddr, typ uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], typ)
	return append(f, payload...)
}

// ARP builds a gratuitous ARP frame: sender and target IP are both the
// announced address. A request leaves the target MAC zero, a reply names
// the broadcast address, as arping -U and -A do.
func ARP(mac net.HardwareAddr, ip net.IP, op uint16) []byte {
	tha := zeroMAC
	if op == arpReply {
		tha = broadcastMAC
	}
	return arpFrame(op, mac, ip.To4(), tha, ip.To4())
}

// arpFrame builds a broadcast Ethernet/IPv4 ARP frame.
func arpFrame(op uint16, sha net.HardwareAddr, spa net.IP, tha net.HardwareAddr, tpa net.IP) []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:2], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:4], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	copy(a[8:14], sha)
	copy(a[14:18], spa)
	copy(a[18:24], tha)
	copy(a[24:28], tpa)
	return ethernet(broadcastMAC, sha, ethTypeARP, a)
}

// NA builds an unsolicited neighbour advertisement for ip (RFC 4861
// 7.2.6): to all nodes, Override set, Solicited clear, with the target
// link-layer address option, hop limit 255.
func NA(mac net.HardwareAddr, ip net.IP) []byte {
	icmp := make([]byte, 32)
	icmp[0] = 136 // neighbour advertisement
	icmp[4] = naOverrideBit
	copy(icmp[8:24], ip)
	icmp[24], icmp[25] = 2, 1 // target link-layer address, 8 bytes
	copy(icmp[26:32], mac)
	binary.BigEndian.PutUint16(icmp[2:4], Checksum(ip, allNodesIPv6, icmp))

	h := make([]byte, 40)
	h[0] = 6 << 4
	binary.BigEndian.PutUint16(h[4:6], uint16(len(icmp)))
	h[6] = unix.IPPROTO_ICMPV6
	h[7] = 255
	copy(h[8:24], ip)
	copy(h[24:40], allNodesIPv6)
	return ethernet(allNodesMAC, mac, ethTypeIPv6, append(h, icmp...))
}

// Checksum is the ICMPv6 checksum over the IPv6 pseudo-header and msg
// (whose checksum field must be zero, or hold the checksum to verify: a
// correct message then sums to zero).
func Checksum(src, dst net.IP, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src.To16())
	add(dst.To16())
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:4], uint32(len(msg)))
	l[7] = unix.IPPROTO_ICMPV6
	add(l[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
