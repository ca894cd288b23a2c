package announce

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"golang.org/x/sys/unix"
)

// Holder is a host on the segment that answered for an address.
type Holder struct {
	IP  net.IP
	MAC net.HardwareAddr
}

// Held asks the segment of the link ifName (in the current netns) whether
// any host holds one of the IPv4 addresses ips, as an ARP probe does
// (RFC 5227: sender address zero, so no neighbour learns anything from
// it). It sends two probes window/2 apart and listens for window; any ARP
// frame from another MAC with an address as its sender is a holder. IPv6
// addresses are left to the kernel's duplicate address detection.
func Held(ifName string, ips []net.IP, window time.Duration) ([]Holder, error) {
	var v4 []net.IP
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 != nil {
			v4 = append(v4, ip4)
		}
	}
	if len(v4) == 0 {
		return nil, nil
	}
	l, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return nil, fmt.Errorf("probe on %q: %w", ifName, err)
	}
	mac := l.Attrs().HardwareAddr
	if len(mac) != 6 {
		return nil, nil
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(ethTypeARP)))
	if err != nil {
		return nil, fmt.Errorf("probe on %q: packet socket: %w", ifName, err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethTypeARP), Ifindex: l.Attrs().Index}); err != nil {
		return nil, fmt.Errorf("probe on %q: bind: %w", ifName, err)
	}
	sa := &unix.SockaddrLinklayer{Ifindex: l.Attrs().Index, Halen: 6}
	copy(sa.Addr[:], broadcastMAC)
	probe := func() error {
		for _, ip := range v4 {
			if err := unix.Sendto(fd, Probe(mac, ip), 0, sa); err != nil {
				return fmt.Errorf("probe for %s on %q: %w", ip, ifName, err)
			}
		}
		return nil
	}
	if err := probe(); err != nil {
		return nil, err
	}
	var held []Holder
	seen := map[string]bool{}
	start, second := time.Now(), false
	buf := make([]byte, 1500)
	for {
		left := window - time.Since(start)
		if !second && left <= window/2 {
			if err := probe(); err != nil {
				return held, err
			}
			second = true
		}
		if left <= 0 {
			return held, nil
		}
		wait := left
		if !second {
			wait = left - window/2
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(wait.Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return held, fmt.Errorf("probe on %q: %w", ifName, err)
		}
		if n <= 0 {
			continue
		}
		m, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		if h, ok := holder(buf[:m], mac, v4); ok && !seen[h.IP.String()] {
			seen[h.IP.String()] = true
			held = append(held, h)
		}
	}
}

// holder reads an ARP frame (Ethernet header first): one sent by another
// MAC with one of ips as its sender address.
func holder(f []byte, own net.HardwareAddr, ips []net.IP) (Holder, bool) {
	if len(f) < 14+28 || binary.BigEndian.Uint16(f[12:14]) != ethTypeARP {
		return Holder{}, false
	}
	a := f[14:]
	if binary.BigEndian.Uint16(a[2:4]) != 0x0800 || a[4] != 6 || a[5] != 4 {
		return Holder{}, false
	}
	sha, spa := net.HardwareAddr(a[8:14]), net.IP(a[14:18])
	if bytes.Equal(sha, own) {
		return Holder{}, false
	}
	for _, ip := range ips {
		if spa.Equal(ip) {
			return Holder{IP: ip, MAC: append(net.HardwareAddr(nil), sha...)}, true
		}
	}
	return Holder{}, false
}

// Probe builds an ARP probe for ip (RFC 5227 2.1.1): a broadcast request
// whose sender address is zero and whose target is the address.
func Probe(mac net.HardwareAddr, ip net.IP) []byte {
	return arpFrame(arpRequest, mac, net.IPv4zero.To4(), zeroMAC, ip.To4())
}

// WaitFree probes until no host on ifName's segment holds any of ips, or
// until deadline passes; then it returns the holders still answering.
// Between rounds it waits window, so a holder that is letting go (a pod
// being deleted) is given time to.
func WaitFree(ifName string, ips []net.IP, window time.Duration, deadline time.Time) ([]Holder, error) {
	for {
		held, err := Held(ifName, ips, window)
		if err != nil || len(held) == 0 || time.Now().Add(window).After(deadline) {
			return held, err
		}
		time.Sleep(window)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
