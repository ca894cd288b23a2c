package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/announce"
	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// sniffer records the frames arriving on a link of a namespace.
type sniffer struct {
	mu     sync.Mutex
	frames [][]byte
	fd     int
	quit   atomic.Bool
	done   chan struct{}
}

func sniff(t *testing.T, netns, ifName string) *sniffer {
	t.Helper()
	n, err := nstest.NS(netns)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	s := &sniffer{done: make(chan struct{})}
	err = n.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return err
		}
		all := int(htons(unix.ETH_P_ALL))
		if s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, all); err != nil {
			return err
		}
		if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000}); err != nil {
			return err
		}
		return unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: l.Attrs().Index})
	})
	if err != nil {
		t.Fatalf("sniff %s in %s: %v", ifName, netns, err)
	}
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			n, _, err := unix.Recvfrom(s.fd, buf, 0)
			if err == unix.EBADF {
				return
			}
			if n > 0 {
				s.mu.Lock()
				s.frames = append(s.frames, append([]byte(nil), buf[:n]...))
				s.mu.Unlock()
			}
			if s.quit.Load() {
				return
			}
		}
	}()
	return s
}

// stop ends the capture and returns the frames.
func (s *sniffer) stop() [][]byte {
	s.quit.Store(true)
	<-s.done
	unix.Close(s.fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TestAnnounce: ADD announces the reserved addresses on the egress
// network: a gratuitous ARP reply and request for the IPv4 address and an
// unsolicited neighbour advertisement for the IPv6 one, from net1's MAC,
// seen on the far side of the master link. The kernel may announce too
// (upstream macvlan sets arp_notify and ndisc_notify): it sends ARP
// requests and an NA, never an ARP reply, so the reply is what proves the
// plugin's own announcement; the frame tests check our NA byte by byte.
func TestAnnounce(t *testing.T) {
	p := newPod(t)
	conf := `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress",
 "ip": {"addresses": ["192.168.12.99/24", "fd00:12::99/64"], "destinations": ["192.168.12.91", "fd00:12::91"]}}`
	s := sniff(t, p.topo.Ext, "ext1")
	res := result(t, ok(t, "ADD", run(t, p.call("ADD"), conf)))
	time.Sleep(300 * time.Millisecond)
	frames := s.stop()
	mac, err := net.ParseMAC(res.Interfaces[0].Mac)
	if err != nil {
		t.Fatal(err)
	}
	v4, v6 := net.ParseIP(testnet.ReservedIP).To4(), net.ParseIP(testnet.ReservedIP6)
	ops := map[uint16]bool{}
	na := false
	for _, f := range frames {
		if len(f) < 14 || !bytes.Equal(f[6:12], mac) {
			continue
		}
		switch binary.BigEndian.Uint16(f[12:14]) {
		case unix.ETH_P_ARP:
			a := f[14:]
			if len(a) >= 28 && bytes.Equal(a[8:14], mac) && net.IP(a[14:18]).Equal(v4) && net.IP(a[24:28]).Equal(v4) {
				ops[binary.BigEndian.Uint16(a[6:8])] = true
			}
		case unix.ETH_P_IPV6:
			h := f[14:]
			if len(h) < 72 || h[6] != 58 || h[40] != 136 {
				continue
			}
			icmp := h[40 : 40+binary.BigEndian.Uint16(h[4:6])]
			if net.IP(icmp[8:24]).Equal(v6) && h[7] == 255 && icmp[4]&0x20 != 0 && icmp[4]&0x40 == 0 &&
				bytes.Equal(icmp[26:32], mac) && announce.Checksum(net.IP(h[8:24]), net.IP(h[24:40]), icmp) == 0 {
				na = true
			}
		}
	}
	if !ops[1] || !ops[2] {
		t.Errorf("gratuitous ARP for %s from %s: saw request %v, reply %v (%d frames)", v4, mac, ops[1], ops[2], len(frames))
	}
	if !na {
		t.Errorf("no unsolicited neighbour advertisement for %s from %s (%d frames)", v6, mac, len(frames))
	}
	ok(t, "DEL", run(t, p.call("DEL"), conf))
}
