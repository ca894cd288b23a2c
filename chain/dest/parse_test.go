package dest

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// TestParse covers the destination syntax of the legacy router, of
// egress-router-cni and of the operator's rendered NAD.
func TestParse(t *testing.T) {
	cases := []struct {
		name     string
		entries  []string
		fallback string
		want     []string // Set.Lines(); nil with wantErr
		wantErr  []string // fragments of the error message
	}{
		{"bare IP fallback", []string{"192.168.12.91"}, "", []string{"192.168.12.91"}, nil},
		{"seed 001 /32 fallback", []string{"192.168.12.91/32"}, "", []string{"192.168.12.91"}, nil},
		{"IPv6 /128 fallback", []string{"fd00::91/128"}, "", []string{"fd00::91"}, nil},
		{"IPv6 canonical form", []string{"FD00:0:0::0091"}, "", []string{"fd00::91"}, nil},
		{"port proto ip", []string{"80 tcp 10.4.5.6"}, "", []string{"80 tcp 10.4.5.6"}, nil},
		{"port proto ip remoteport", []string{"8080 tcp 10.7.8.9 80"}, "", []string{"8080 tcp 10.7.8.9 80"}, nil},
		{"remote port equal to local", []string{"80 tcp 10.7.8.9 80"}, "", []string{"80 tcp 10.7.8.9"}, nil},
		{"uppercase protocols", []string{"80 TCP 10.0.0.1", "53 UDP 10.0.0.2", "9 SCTP 10.0.0.3"}, "", []string{"80 tcp 10.0.0.1", "53 udp 10.0.0.2", "9 sctp 10.0.0.3"}, nil},
		{"mixed case protocol", []string{"80 Tcp 10.0.0.1"}, "", []string{"80 tcp 10.0.0.1"}, nil},
		{"tabs and spaces", []string{"80 \t tcp\t\t10.0.0.1   8080"}, "", []string{"80 tcp 10.0.0.1 8080"}, nil},
		{"leading and trailing space", []string{"   80 tcp 10.0.0.1   "}, "", []string{"80 tcp 10.0.0.1"}, nil},
		{"several lines in one string", []string{"80 tcp 10.4.5.6\n8080 tcp 10.7.8.9 80\n10.1.2.3\n"}, "", []string{"80 tcp 10.4.5.6", "8080 tcp 10.7.8.9 80", "10.1.2.3"}, nil},
		{"comments and blank lines", []string{"# web\n\n80 tcp 10.4.5.6\n   # indented comment\n\n10.1.2.3"}, "", []string{"80 tcp 10.4.5.6", "10.1.2.3"}, nil},
		{"trailing comment", []string{"80 tcp 10.4.5.6 # the web server"}, "", []string{"80 tcp 10.4.5.6"}, nil},
		{"blank entries", []string{"", "  ", "80 tcp 10.4.5.6"}, "", []string{"80 tcp 10.4.5.6"}, nil},
		{"empty list", nil, "", []string{}, nil},
		{"only comments", []string{"# nothing\n#"}, "", []string{}, nil},
		{"operator rendered shape", []string{"80 UDP 10.0.0.99", "8080 TCP 203.0.113.26 80", "8443 TCP 203.0.113.27 443"}, "192.168.12.99",
			[]string{"80 udp 10.0.0.99", "8080 tcp 203.0.113.26 80", "8443 tcp 203.0.113.27 443", "192.168.12.99"}, nil},
		{"operator shape without fallback", []string{"80 UDP 10.0.0.99"}, "", []string{"80 udp 10.0.0.99"}, nil},
		{"fallbackIP alone", nil, "10.1.2.3", []string{"10.1.2.3"}, nil},
		{"fallbackIP /32", nil, "10.1.2.3/32", []string{"10.1.2.3"}, nil},
		{"same port, other protocol", []string{"80 tcp 10.0.0.1", "80 udp 10.0.0.2"}, "", []string{"80 tcp 10.0.0.1", "80 udp 10.0.0.2"}, nil},
		{"same port and protocol, other family", []string{"80 tcp 10.0.0.1", "80 tcp fd00::1"}, "", []string{"80 tcp 10.0.0.1", "80 tcp fd00::1"}, nil},
		{"IPv6 rule with remote port", []string{"80 tcp fd00:203::5 8080"}, "", []string{"80 tcp fd00:203::5 8080"}, nil},
		{"per-port /32 destination", []string{"80 tcp 10.0.0.1/32"}, "", []string{"80 tcp 10.0.0.1"}, nil},
		{"port 1 and 65535", []string{"1 tcp 10.0.0.1 65535", "65535 udp 10.0.0.2 1"}, "", []string{"1 tcp 10.0.0.1 65535", "65535 udp 10.0.0.2 1"}, nil},
		{"one fallback per family", []string{"10.1.2.3", "fd00::3"}, "", []string{"10.1.2.3", "fd00::3"}, nil},
		{"fallbackIP of the other family", []string{"10.1.2.3"}, "fd00::3", []string{"10.1.2.3", "fd00::3"}, nil},

		{"fallback not last", []string{"10.1.2.3", "80 tcp 10.4.5.6"}, "", nil, []string{`destinations[1] "80 tcp 10.4.5.6"`, `fallback "10.1.2.3"`, "last"}},
		{"fallback not last in one string", []string{"10.1.2.3\n80 tcp 10.4.5.6"}, "", nil, []string{"destinations[0]", "last"}},
		{"duplicate local port", []string{"80 tcp 10.4.5.6", "80 TCP 10.7.8.9 8080"}, "", nil, []string{"destinations[1]", "80/tcp", `"80 tcp 10.4.5.6"`, "unique"}},
		{"two IPv4 fallbacks", []string{"10.1.2.3", "10.1.2.4"}, "", nil, []string{`destinations[1] "10.1.2.4"`, "second IPv4 fallback"}},
		{"fallbackIP and a fallback line", []string{"10.1.2.3"}, "10.1.2.4", nil, []string{`fallbackIP "10.1.2.4"`, `"10.1.2.3"`, "only one"}},
		{"port 0", []string{"0 tcp 10.4.5.6"}, "", nil, []string{`destinations[0] "0 tcp 10.4.5.6"`, "port 0 is out of range 1-65535"}},
		{"port 65536", []string{"65536 tcp 10.4.5.6"}, "", nil, []string{"port 65536 is out of range"}},
		{"negative port", []string{"-1 tcp 10.4.5.6"}, "", nil, []string{"port -1 is out of range"}},
		{"port not a number", []string{"http tcp 10.4.5.6"}, "", nil, []string{`"http" is not a port number`}},
		{"remote port 0", []string{"80 tcp 10.4.5.6 0"}, "", nil, []string{"remote port", "port 0"}},
		{"remote port too big", []string{"80 tcp 10.4.5.6 70000"}, "", nil, []string{"remote port", "70000"}},
		{"bad protocol", []string{"80 icmp 10.4.5.6"}, "", nil, []string{`unknown protocol "icmp"`}},
		{"bad IP", []string{"80 tcp 10.0.0.300"}, "", nil, []string{`"10.0.0.300" is not an IP address`}},
		{"hostname", []string{"80 tcp example.com"}, "", nil, []string{`"example.com" is not an IP address`}},
		{"bad fallback IP", []string{"10.1.2"}, "", nil, []string{`destinations[0] "10.1.2"`, "not an IP address"}},
		{"CIDR wider than a host", []string{"10.0.0.0/24"}, "", nil, []string{`"10.0.0.0/24" is a network of more than one address`}},
		{"IPv6 CIDR wider than a host", []string{"80 tcp fd00::/64"}, "", nil, []string{"fd00::/64", "more than one address"}},
		{"two fields", []string{"80 tcp"}, "", nil, []string{"got 2 fields"}},
		{"five fields", []string{"80 tcp 10.0.0.1 8080 extra"}, "", nil, []string{"got 5 fields"}},
		{"fallbackIP invalid", nil, "not-an-ip", nil, []string{`fallbackIP "not-an-ip"`, "not an IP address"}},
		{"fallbackIP wide CIDR", nil, "10.0.0.0/8", nil, []string{"fallbackIP", "more than one address"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := Parse("destinations", c.entries, "fallbackIP", c.fallback)
			if c.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; parsed %v", set.Lines())
				}
				var te *types.Error
				if !errors.As(err, &te) || te.Code != types.ErrInvalidNetworkConfig {
					t.Fatalf("error %v is not a CNI error with code 7", err)
				}
				for _, f := range c.wantErr {
					if !strings.Contains(te.Msg, f) {
						t.Errorf("message %q lacks %q", te.Msg, f)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := strings.Join(set.Lines(), "|"); got != strings.Join(c.want, "|") {
				t.Errorf("parsed %q, want %q", got, strings.Join(c.want, "|"))
			}
			if set.Empty() != (len(c.want) == 0) {
				t.Errorf("Empty() = %v for %v", set.Empty(), c.want)
			}
		})
	}
}

func TestSetAccessors(t *testing.T) {
	set, err := Parse("destinations", []string{"80 tcp 10.0.0.1 8080", "10.0.0.9", "fd00::9"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Fallback(4); got.String() != "10.0.0.9" {
		t.Errorf("Fallback(4) = %v", got)
	}
	if got := set.Fallback(6); got.String() != "fd00::9" {
		t.Errorf("Fallback(6) = %v", got)
	}
	var ips []string
	for _, ip := range set.IPs() {
		ips = append(ips, ip.String())
	}
	if strings.Join(ips, ",") != "10.0.0.1,10.0.0.9,fd00::9" {
		t.Errorf("IPs() = %v", ips)
	}
	// The rendered lines parse back to the same set.
	again, err := Parse("destinations", set.Lines(), "", "")
	if err != nil || strings.Join(again.Lines(), "|") != strings.Join(set.Lines(), "|") {
		t.Errorf("round trip: %v %v", again.Lines(), err)
	}
	if set.Rules[0].Port != 80 || set.Rules[0].RemotePort != 8080 || set.Rules[0].Proto != "tcp" {
		t.Errorf("rule = %+v", set.Rules[0])
	}
}
