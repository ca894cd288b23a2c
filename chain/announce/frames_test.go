package announce

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

var testMAC = net.HardwareAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}

func TestARPFrames(t *testing.T) {
	ip := net.ParseIP("192.168.12.99")
	for _, c := range []struct {
		op  uint16
		tha net.HardwareAddr
	}{{arpRequest, zeroMAC}, {arpReply, broadcastMAC}} {
		f := ARP(testMAC, ip, c.op)
		if len(f) != 42 {
			t.Fatalf("op %d: frame of %d bytes, want 42", c.op, len(f))
		}
		if !bytes.Equal(f[0:6], broadcastMAC) || !bytes.Equal(f[6:12], testMAC) || binary.BigEndian.Uint16(f[12:14]) != 0x0806 {
			t.Errorf("op %d: Ethernet header % x", c.op, f[:14])
		}
		a := f[14:]
		if binary.BigEndian.Uint16(a[6:8]) != c.op || !bytes.Equal(a[8:14], testMAC) || !net.IP(a[14:18]).Equal(ip) ||
			!bytes.Equal(a[18:24], c.tha) || !net.IP(a[24:28]).Equal(ip) {
			t.Errorf("op %d: ARP body % x", c.op, a)
		}
	}
}

func TestNAFrame(t *testing.T) {
	ip := net.ParseIP("fd00:12::99")
	f := NA(testMAC, ip)
	if len(f) != 14+40+32 {
		t.Fatalf("frame of %d bytes, want 86", len(f))
	}
	if !bytes.Equal(f[0:6], allNodesMAC) || binary.BigEndian.Uint16(f[12:14]) != 0x86dd {
		t.Errorf("Ethernet header % x", f[:14])
	}
	h, icmp := f[14:54], f[54:]
	if h[0]>>4 != 6 || h[6] != 58 || h[7] != 255 || !net.IP(h[8:24]).Equal(ip) || !net.IP(h[24:40]).Equal(allNodesIPv6) ||
		binary.BigEndian.Uint16(h[4:6]) != 32 {
		t.Errorf("IPv6 header % x", h)
	}
	if icmp[0] != 136 || icmp[4] != naOverrideBit || !net.IP(icmp[8:24]).Equal(ip) || icmp[24] != 2 || icmp[25] != 1 || !bytes.Equal(icmp[26:32], testMAC) {
		t.Errorf("NA body % x", icmp)
	}
	if Checksum(ip, allNodesIPv6, icmp) != 0 {
		t.Errorf("checksum %#04x does not verify", binary.BigEndian.Uint16(icmp[2:4]))
	}
	icmp[30] ^= 1
	if Checksum(ip, allNodesIPv6, icmp) == 0 {
		t.Errorf("a corrupted message still verifies")
	}
}

func TestSendErrors(t *testing.T) {
	if err := Send("no-such-link0", nil); err != nil {
		t.Errorf("empty list: %v", err)
	}
	err := Send("no-such-link0", []net.IP{net.ParseIP("10.0.0.1")})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no-such-link0")) {
		t.Errorf("missing link: %v, want an error naming it", err)
	}
}
