package dest

import (
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
)

// TestParseLines runs dest.Parse with the field names "ip.destinations"
// and "fallbackIP". A case wants either the set's Lines() or an error
// whose message holds where (the field, index and quoted line, or the
// fallback field and its quoted value) and err.
func TestParseLines(t *testing.T) {
	cases := []struct {
		name       string
		entries    []string
		fallbackIP string
		want       []string // Set.Lines(); ignored when err != ""
		where      string
		err        string
	}{
		// Single destinations.
		{name: "bare IPv4", entries: []string{"203.0.113.5"}, want: []string{"203.0.113.5"}},
		{name: "IPv4 /32", entries: []string{"203.0.113.5/32"}, want: []string{"203.0.113.5"}},
		{name: "IPv6 /128", entries: []string{"2001:db8::5/128"}, want: []string{"2001:db8::5"}},
		{name: "IPv6 in long upper-case form", entries: []string{"2001:DB8:0:0::05"}, want: []string{"2001:db8::5"}},
		{name: "IPv4-mapped IPv6 is IPv4", entries: []string{"::ffff:203.0.113.5"}, want: []string{"203.0.113.5"}},
		{name: "three fields", entries: []string{"443 tcp 203.0.113.7"}, want: []string{"443 tcp 203.0.113.7"}},
		{name: "four fields", entries: []string{"8443 tcp 203.0.113.7 443"}, want: []string{"8443 tcp 203.0.113.7 443"}},
		{name: "remote port equal to local port", entries: []string{"443 tcp 203.0.113.7 443"}, want: []string{"443 tcp 203.0.113.7"}},
		{name: "per-port /32", entries: []string{"443 udp 203.0.113.7/32 4443"}, want: []string{"443 udp 203.0.113.7 4443"}},
		{name: "port bounds", entries: []string{"1 tcp 10.1.0.1 65535", "65535 tcp 10.1.0.2 1"}, want: []string{"1 tcp 10.1.0.1 65535", "65535 tcp 10.1.0.2 1"}},

		// Protocol spelling and white space.
		{name: "upper-case TCP UDP SCTP", entries: []string{"22 TCP 10.1.0.1", "53 UDP 10.1.0.2", "2905 SCTP 10.1.0.3"},
			want: []string{"22 tcp 10.1.0.1", "53 udp 10.1.0.2", "2905 sctp 10.1.0.3"}},
		{name: "mixed-case protocols", entries: []string{"80 tCp 10.1.0.1", "53 Udp 10.1.0.2", "36412 sCtP 10.1.0.3"},
			want: []string{"80 tcp 10.1.0.1", "53 udp 10.1.0.2", "36412 sctp 10.1.0.3"}},
		{name: "tabs between fields", entries: []string{"80\ttcp\t10.1.0.1\t8080"}, want: []string{"80 tcp 10.1.0.1 8080"}},
		{name: "several spaces between fields", entries: []string{"80    udp     10.1.0.1  53"}, want: []string{"80 udp 10.1.0.1 53"}},
		{name: "leading and trailing white space", entries: []string{"\t  80 tcp 10.1.0.1 \t ", "  10.1.0.9  "}, want: []string{"80 tcp 10.1.0.1", "10.1.0.9"}},
		{name: "CRLF line ends", entries: []string{"80 tcp 10.1.0.1\r\n10.1.0.9\r\n"}, want: []string{"80 tcp 10.1.0.1", "10.1.0.9"}},

		// Lines, blank lines and comments.
		{name: "blank lines", entries: []string{"\n\n80 tcp 10.1.0.1\n\n \n"}, want: []string{"80 tcp 10.1.0.1"}},
		{name: "blank entries", entries: []string{"", "   ", "\t", "80 tcp 10.1.0.1"}, want: []string{"80 tcp 10.1.0.1"}},
		{name: "full-line comments", entries: []string{"# web\n80 tcp 10.1.0.1\n#10.9.9.9"}, want: []string{"80 tcp 10.1.0.1"}},
		{name: "indented comment entry", entries: []string{"   # proxy", "80 tcp 10.1.0.1"}, want: []string{"80 tcp 10.1.0.1"}},
		{name: "trailing comment", entries: []string{"80 tcp 10.1.0.1 8080 # web"}, want: []string{"80 tcp 10.1.0.1 8080"}},
		{name: "comment right after the value", entries: []string{"10.1.0.9#fallback"}, want: []string{"10.1.0.9"}},
		{name: "fields inside a comment are ignored", entries: []string{"80 tcp 10.1.0.1 # 81 tcp 10.1.0.2 extra"}, want: []string{"80 tcp 10.1.0.1"}},
		{name: "several lines in one string", entries: []string{"80 tcp 10.1.0.1\n81 udp 10.1.0.2 53\n10.1.0.9"},
			want: []string{"80 tcp 10.1.0.1", "81 udp 10.1.0.2 53", "10.1.0.9"}},
		{name: "entries and multi-line strings keep their order", entries: []string{"80 tcp 10.1.0.1", "81 tcp 10.1.0.2\n82 tcp 10.1.0.3", "83 tcp 10.1.0.4"},
			want: []string{"80 tcp 10.1.0.1", "81 tcp 10.1.0.2", "82 tcp 10.1.0.3", "83 tcp 10.1.0.4"}},
		{name: "nil input", want: []string{}},
		{name: "only comments and blanks", entries: []string{"# nothing\n\n", "  # still nothing"}, want: []string{}},

		// Ports, protocols and families that may share a local port.
		{name: "operator shape", entries: []string{"80 UDP 10.0.0.99", "8080 TCP 203.0.113.26 80", "8443 TCP 203.0.113.27 443"}, fallbackIP: "192.168.12.99",
			want: []string{"80 udp 10.0.0.99", "8080 tcp 203.0.113.26 80", "8443 tcp 203.0.113.27 443", "192.168.12.99"}},
		{name: "same port, other protocols", entries: []string{"80 tcp 10.1.0.1", "80 udp 10.1.0.2", "80 sctp 10.1.0.3"},
			want: []string{"80 tcp 10.1.0.1", "80 udp 10.1.0.2", "80 sctp 10.1.0.3"}},
		{name: "same port and protocol, IPv4 and IPv6", entries: []string{"53 udp 10.1.0.1", "53 udp 2001:db8::1"},
			want: []string{"53 udp 10.1.0.1", "53 udp 2001:db8::1"}},
		{name: "IPv4 and IPv6 fallback lines", entries: []string{"10.1.0.9", "2001:db8::9"}, want: []string{"10.1.0.9", "2001:db8::9"}},
		{name: "fallbackIP of the other family than a bare line", entries: []string{"80 tcp 10.1.0.1", "10.1.0.9"}, fallbackIP: "2001:db8::9",
			want: []string{"80 tcp 10.1.0.1", "10.1.0.9", "2001:db8::9"}},
		{name: "fallbackIP with white space", fallbackIP: " 10.1.0.9 ", want: []string{"10.1.0.9"}},
		{name: "fallbackIP /128", fallbackIP: "2001:db8::9/128", want: []string{"2001:db8::9"}},

		// Errors in the order of lines.
		{name: "fallback not last", entries: []string{"10.1.0.9", "80 tcp 10.1.0.1"},
			where: `ip.destinations[1] "80 tcp 10.1.0.1"`, err: `the fallback "10.1.0.9" must be the last destination`},
		{name: "fallback not last inside one string", entries: []string{"80 tcp 10.1.0.1\n10.1.0.9\n  81 tcp 10.1.0.2 "},
			where: `ip.destinations[0] "81 tcp 10.1.0.2"`, err: `the fallback "10.1.0.9" must be the last`},
		{name: "duplicate local port", entries: []string{"80 tcp 10.1.0.1", "81 tcp 10.1.0.2", "80 TCP 10.1.0.3 8080"},
			where: `ip.destinations[2] "80 TCP 10.1.0.3 8080"`, err: `local port 80/tcp is already used by "80 tcp 10.1.0.1"`},
		{name: "duplicate local port inside one string", entries: []string{"53 udp 10.1.0.1\n53 udp 10.1.0.2 5353"},
			where: `ip.destinations[0] "53 udp 10.1.0.2 5353"`, err: `local port 53/udp is already used by "53 udp 10.1.0.1"`},
		{name: "duplicate through an IPv4-mapped address", entries: []string{"80 tcp 10.1.0.1", "80 tcp ::ffff:10.1.0.2"},
			where: `ip.destinations[1] "80 tcp ::ffff:10.1.0.2"`, err: "local port 80/tcp is already used"},
		{name: "two IPv4 fallbacks", entries: []string{"10.1.0.8", "2001:db8::9", "10.1.0.9"},
			where: `ip.destinations[2] "10.1.0.9"`, err: `a second IPv4 fallback after "10.1.0.8"`},
		{name: "two IPv6 fallbacks in one string", entries: []string{"2001:db8::8\n2001:db8::9"},
			where: `ip.destinations[0] "2001:db8::9"`, err: `a second IPv6 fallback after "2001:db8::8"`},

		// Errors in ports and protocols.
		{name: "port 0", entries: []string{"80 tcp 10.1.0.1", "0 tcp 10.1.0.2"},
			where: `ip.destinations[1] "0 tcp 10.1.0.2"`, err: "local port: port 0 is out of range 1-65535"},
		{name: "port 65536", entries: []string{"65536 udp 10.1.0.2"},
			where: `ip.destinations[0] "65536 udp 10.1.0.2"`, err: "local port: port 65536 is out of range 1-65535"},
		{name: "port abc", entries: []string{"abc tcp 10.1.0.2"},
			where: `ip.destinations[0] "abc tcp 10.1.0.2"`, err: `local port: "abc" is not a port number`},
		{name: "fractional port", entries: []string{"80.5 tcp 10.1.0.2"},
			where: `ip.destinations[0] "80.5 tcp 10.1.0.2"`, err: `"80.5" is not a port number`},
		{name: "remote port 0", entries: []string{"80 tcp 10.1.0.2 0"},
			where: `ip.destinations[0] "80 tcp 10.1.0.2 0"`, err: "remote port: port 0 is out of range"},
		{name: "remote port 65536", entries: []string{"80 tcp 10.1.0.2 65536"},
			where: `ip.destinations[0] "80 tcp 10.1.0.2 65536"`, err: "remote port: port 65536 is out of range"},
		{name: "remote port not a number", entries: []string{"80 tcp 10.1.0.2 http"},
			where: `ip.destinations[0] "80 tcp 10.1.0.2 http"`, err: `remote port: "http" is not a port number`},
		{name: "protocol icmp", entries: []string{"80 icmp 10.1.0.2"},
			where: `ip.destinations[0] "80 icmp 10.1.0.2"`, err: `unknown protocol "icmp" (want tcp, udp or sctp)`},
		{name: "protocol number", entries: []string{"80 6 10.1.0.2"},
			where: `ip.destinations[0] "80 6 10.1.0.2"`, err: `unknown protocol "6"`},

		// Errors in addresses.
		{name: "bad IPv4 in a rule", entries: []string{"80 tcp 10.0.0.300"},
			where: `ip.destinations[0] "80 tcp 10.0.0.300"`, err: `"10.0.0.300" is not an IP address`},
		{name: "bad IPv4 fallback line", entries: []string{"80 tcp 10.1.0.1", "10.0.0.300"},
			where: `ip.destinations[1] "10.0.0.300"`, err: `"10.0.0.300" is not an IP address`},
		{name: "hostname in a rule", entries: []string{"80 tcp example.com"},
			where: `ip.destinations[0] "80 tcp example.com"`, err: `"example.com" is not an IP address`},
		{name: "hostname as fallback", entries: []string{"egress.example.com"},
			where: `ip.destinations[0] "egress.example.com"`, err: `"egress.example.com" is not an IP address`},
		{name: "port alone is not a fallback", entries: []string{"80"},
			where: `ip.destinations[0] "80"`, err: `"80" is not an IP address`},
		{name: "IPv4 CIDR wider than a host", entries: []string{"10.0.0.0/24"},
			where: `ip.destinations[0] "10.0.0.0/24"`, err: `"10.0.0.0/24" is a network of more than one address; a destination is a single host (/32)`},
		{name: "IPv6 CIDR wider than a host", entries: []string{"80 tcp 2001:db8::/64"},
			where: `ip.destinations[0] "80 tcp 2001:db8::/64"`, err: `"2001:db8::/64" is a network of more than one address; a destination is a single host (/128)`},
		{name: "prefix length out of range", entries: []string{"10.1.0.1/33"},
			where: `ip.destinations[0] "10.1.0.1/33"`, err: `"10.1.0.1/33" is not an IP address`},
		{name: "IPv6 zone", entries: []string{"fe80::1%eth0"},
			where: `ip.destinations[0] "fe80::1%eth0"`, err: `"fe80::1%eth0" is not an IP address`},

		// Errors in the number of fields.
		{name: "two fields", entries: []string{"80 tcp"},
			where: `ip.destinations[0] "80 tcp"`, err: "got 2 fields"},
		{name: "five fields", entries: []string{"80 tcp 10.1.0.1 8080 extra"},
			where: `ip.destinations[0] "80 tcp 10.1.0.1 8080 extra"`, err: `want "IP", "PORT PROTO IP" or "PORT PROTO IP REMOTEPORT", got 5 fields`},
		{name: "six fields in a later entry", entries: []string{"80 tcp 10.1.0.1", "# ok", "1 2 3 4 5 6"},
			where: `ip.destinations[2] "1 2 3 4 5 6"`, err: "got 6 fields"},

		// Errors in fallbackIP.
		{name: "fallbackIP and an IPv4 fallback line", entries: []string{"80 tcp 10.1.0.1", "10.1.0.9"}, fallbackIP: "10.1.0.8",
			where: `fallbackIP "10.1.0.8"`, err: `the fallback destination "10.1.0.9" in ip.destinations are both set; give only one`},
		{name: "fallbackIP and an IPv6 fallback line", entries: []string{"2001:db8::9"}, fallbackIP: "2001:db8::8/128",
			where: `fallbackIP "2001:db8::8/128"`, err: `"2001:db8::9" in ip.destinations are both set`},
		{name: "fallbackIP invalid", fallbackIP: "10.1.0.300",
			where: `fallbackIP "10.1.0.300"`, err: `"10.1.0.300" is not an IP address`},
		{name: "fallbackIP hostname", entries: []string{"80 tcp 10.1.0.1"}, fallbackIP: "gw.example.com",
			where: `fallbackIP "gw.example.com"`, err: "is not an IP address"},
		{name: "fallbackIP network", fallbackIP: "10.1.0.0/16",
			where: `fallbackIP "10.1.0.0/16"`, err: "is a network of more than one address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := Parse("ip.destinations", c.entries, "fallbackIP", c.fallbackIP)
			if c.err != "" {
				if err == nil {
					t.Fatalf("no error; parsed %q", set.Lines())
				}
				cnierrtest.Want(t, err, 7, c.where, c.err)
				if !set.Empty() {
					t.Errorf("a failed parse returned %q", set.Lines())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got, want := strings.Join(set.Lines(), "|"), strings.Join(c.want, "|"); got != want {
				t.Errorf("Lines() = %q, want %q", got, want)
			}
			if set.Empty() != (len(c.want) == 0) {
				t.Errorf("Empty() = %v with lines %q", set.Empty(), c.want)
			}
		})
	}
}

// TestRuleString renders rules and parses them back.
func TestRuleString(t *testing.T) {
	cases := []struct {
		rule Rule
		want string
	}{
		{Rule{Port: 80, Proto: "tcp", IP: net.ParseIP("10.1.0.1").To4(), RemotePort: 80}, "80 tcp 10.1.0.1"},
		{Rule{Port: 8080, Proto: "tcp", IP: net.ParseIP("10.1.0.1"), RemotePort: 80}, "8080 tcp 10.1.0.1 80"},
		{Rule{Port: 53, Proto: "udp", IP: net.ParseIP("2001:db8::53"), RemotePort: 53}, "53 udp 2001:db8::53"},
		{Rule{Port: 2905, Proto: "sctp", IP: net.ParseIP("2001:db8::5"), RemotePort: 2906}, "2905 sctp 2001:db8::5 2906"},
		{Rule{Port: 65535, Proto: "udp", IP: net.ParseIP("10.1.0.2"), RemotePort: 1}, "65535 udp 10.1.0.2 1"},
	}
	for _, c := range cases {
		got := c.rule.String()
		if got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.rule, got, c.want)
			continue
		}
		set, err := Parse("destinations", []string{got}, "fallbackIP", "")
		if err != nil {
			t.Errorf("%q does not parse back: %v", got, err)
			continue
		}
		if len(set.Rules) != 1 || len(set.Fallbacks) != 0 {
			t.Errorf("%q parsed back to %q", got, set.Lines())
			continue
		}
		r := set.Rules[0]
		if r.Port != c.rule.Port || r.Proto != c.rule.Proto || !r.IP.Equal(c.rule.IP) || r.RemotePort != c.rule.RemotePort {
			t.Errorf("%q parsed back to %+v, want %+v", got, r, c.rule)
		}
	}
}

// TestSetIPsAndFallback covers Set.IPs and Set.Fallback.
func TestSetIPsAndFallback(t *testing.T) {
	cases := []struct {
		name       string
		entries    []string
		fallbackIP string
		ips        string // Set.IPs() joined by ","
		fb4, fb6   string // Fallback(4), Fallback(6); "<nil>" when none
	}{
		{"rules then fallbacks", []string{"80 tcp 10.1.0.1 8080", "53 udp 2001:db8::53", "10.1.0.9"}, "2001:db8::9",
			"10.1.0.1,2001:db8::53,10.1.0.9,2001:db8::9", "10.1.0.9", "2001:db8::9"},
		{"the same address twice", []string{"80 tcp 10.1.0.1", "81 tcp 10.1.0.1", "10.1.0.1"}, "",
			"10.1.0.1,10.1.0.1,10.1.0.1", "10.1.0.1", "<nil>"},
		{"only an IPv6 fallback", []string{"2001:db8::9"}, "", "2001:db8::9", "<nil>", "2001:db8::9"},
		{"only fallbackIP", nil, "10.1.0.9/32", "10.1.0.9", "10.1.0.9", "<nil>"},
		{"IPv6 fallback listed before the IPv4 one", []string{"2001:db8::9", "10.1.0.9"}, "",
			"2001:db8::9,10.1.0.9", "10.1.0.9", "2001:db8::9"},
		{"rules without fallback", []string{"80 tcp 10.1.0.1", "80 tcp 2001:db8::1"}, "", "10.1.0.1,2001:db8::1", "<nil>", "<nil>"},
		{"nothing", nil, "", "", "<nil>", "<nil>"},
	}
	for _, c := range cases {
		set, err := Parse("destinations", c.entries, "fallbackIP", c.fallbackIP)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var ips []string
		for _, ip := range set.IPs() {
			ips = append(ips, ip.String())
		}
		if got := strings.Join(ips, ","); got != c.ips {
			t.Errorf("%s: IPs() = %q, want %q", c.name, got, c.ips)
		}
		if got := set.Fallback(4).String(); got != c.fb4 {
			t.Errorf("%s: Fallback(4) = %s, want %s", c.name, got, c.fb4)
		}
		if got := set.Fallback(6).String(); got != c.fb6 {
			t.Errorf("%s: Fallback(6) = %s, want %s", c.name, got, c.fb6)
		}
	}

}
