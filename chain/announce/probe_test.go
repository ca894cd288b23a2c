package announce

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

func TestProbeFrame(t *testing.T) {
	ip := net.ParseIP("192.168.3.10")
	f := Probe(testMAC, ip)
	if len(f) != 42 || !bytes.Equal(f[0:6], broadcastMAC) || binary.BigEndian.Uint16(f[12:14]) != 0x0806 {
		t.Fatalf("frame % x", f)
	}
	a := f[14:]
	if binary.BigEndian.Uint16(a[6:8]) != arpRequest || !bytes.Equal(a[8:14], testMAC) || !net.IP(a[14:18]).Equal(net.IPv4zero.To4()) ||
		!bytes.Equal(a[18:24], zeroMAC) || !net.IP(a[24:28]).Equal(ip) {
		t.Errorf("ARP body % x: want a request from 0.0.0.0 for %s", a, ip)
	}
	// A probe is nobody's claim, an announcement is.
	if _, ok := holder(f, net.HardwareAddr{2, 0, 0, 0, 0, 9}, []net.IP{ip.To4()}); ok {
		t.Error("a probe counts as a holder")
	}
	if h, ok := holder(ARP(testMAC, ip, arpReply), net.HardwareAddr{2, 0, 0, 0, 0, 9}, []net.IP{ip.To4()}); !ok || !bytes.Equal(h.MAC, testMAC) {
		t.Errorf("a gratuitous ARP from %s: %v %v", testMAC, h, ok)
	}
	if _, ok := holder(ARP(testMAC, ip, arpReply), testMAC, []net.IP{ip.To4()}); ok {
		t.Error("our own frame counts as a holder")
	}
}

// Held finds the host on the segment that holds an address, through a
// real veth pair between two namespaces, and nobody for a free one.
func TestHeld(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	prober, owner := newNS(t), newNS(t)
	err := prober.Do(func(ns.NetNS) error {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "probe0"}, PeerName: "owner0", PeerNamespace: netlink.NsFd(int(owner.Fd()))}
		if err := netlink.LinkAdd(veth); err != nil {
			return err
		}
		l, err := netlink.LinkByName("probe0")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ownerMAC net.HardwareAddr
	err = owner.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName("owner0")
		if err != nil {
			return err
		}
		ownerMAC = l.Attrs().HardwareAddr
		a, _ := netlink.ParseAddr("192.168.77.10/24")
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		t.Fatal(err)
	}
	held := net.ParseIP("192.168.77.10")
	free := net.ParseIP("192.168.77.11")
	_ = prober.Do(func(ns.NetNS) error {
		// The veth's carrier takes a moment.
		var got []Holder
		for i := 0; i < 20 && len(got) == 0; i++ {
			if got, err = Held("probe0", []net.IP{held, free, net.ParseIP("fd00::1")}, 20*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != 1 || !got[0].IP.Equal(held) || !bytes.Equal(got[0].MAC, ownerMAC) {
			t.Errorf("Held = %v, want %s at %s", got, held, ownerMAC)
		}
		if got, err := Held("probe0", []net.IP{free}, 20*time.Millisecond); err != nil || len(got) != 0 {
			t.Errorf("a free address: %v %v", got, err)
		}
		start := time.Now()
		if got, err := WaitFree("probe0", []net.IP{held}, 20*time.Millisecond, time.Now().Add(200*time.Millisecond)); err != nil || len(got) != 1 {
			t.Errorf("WaitFree on a held address: %v %v", got, err)
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
			t.Errorf("WaitFree gave up after %v, want about 200 ms", d)
		}
		return nil
	})
	// The owner lets go: the address is free again.
	_ = owner.Do(func(ns.NetNS) error {
		l, _ := netlink.LinkByName("owner0")
		a, _ := netlink.ParseAddr("192.168.77.10/24")
		return netlink.AddrDel(l, a)
	})
	_ = prober.Do(func(ns.NetNS) error {
		if got, err := WaitFree("probe0", []net.IP{held}, 20*time.Millisecond, time.Now().Add(time.Second)); err != nil || len(got) != 0 {
			t.Errorf("after the owner let go: %v %v", got, err)
		}
		return nil
	})
}

func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(); _ = testutils.UnmountNS(n) })
	return n
}
