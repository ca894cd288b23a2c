package dest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
)

// FuzzParse: any destination text is a set or a config error (code 7),
// and an accepted set, written back as lines, parses to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []struct{ lines, fallback string }{
		{"192.168.12.91/32", ""},
		{"80 UDP 10.0.0.99\n8080 TCP 203.0.113.26 80\n8443 TCP 203.0.113.27 443", "192.168.12.99"},
		{"# comment\n\n 53  udp  fd00:203::53 \n3868 sctp 203.0.113.6\nfd00::9", ""},
		{"80 tcp 10.0.0.1\n80 tcp 10.0.0.2", ""},
		{"0 tcp 10.0.0.1 65536", "10.0.0.0/8"},
		{"80 icmp 10.0.0.1 1 2", "::ffff:10.0.0.1"},
	} {
		f.Add(s.lines, s.fallback)
	}
	f.Fuzz(func(t *testing.T, lines, fallback string) {
		entries := strings.Split(lines, "\x00")
		set, err := Parse("destinations", entries, "fallbackIP", fallback)
		if err != nil {
			cnierrtest.Want(t, err, 7)
			return
		}
		again, err := Parse("destinations", set.Lines(), "fallbackIP", "")
		if err != nil {
			t.Fatalf("lines %q of an accepted set do not parse: %v", set.Lines(), err)
		}
		if !reflect.DeepEqual(again.Lines(), set.Lines()) {
			t.Fatalf("round trip changed %q into %q", set.Lines(), again.Lines())
		}
		for _, r := range set.Rules {
			if r.Port < 1 || r.Port > 65535 || r.RemotePort < 1 || r.RemotePort > 65535 {
				t.Fatalf("rule %v has a port out of range", r)
			}
		}
	})
}
