package config

import (
	"net"
	"strings"
	"testing"
)

func TestWithoutConnected(t *testing.T) {
	cidrs := func(ss ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, s := range ss {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	subnets := cidrs("10.88.5.0/24", "fd00:88::/64")
	for _, c := range []struct {
		in, keep []string
		notes    int
	}{
		{in: []string{"10.88.5.0/24"}, notes: 1},                                                       // Podman's bridge subnet
		{in: []string{"10.88.5.128/25", "fd00:88::/96"}, notes: 2},                                     // inside
		{in: []string{"10.88.0.0/16"}, keep: []string{"10.88.0.0/16"}},                                 // holds it: still routed
		{in: []string{"10.89.0.0/24", "fd00:89::/64"}, keep: []string{"10.89.0.0/24", "fd00:89::/64"}}, // elsewhere
	} {
		keep, notes := withoutConnected(cidrs(c.in...), subnets)
		var got []string
		for _, k := range keep {
			got = append(got, k.String())
		}
		if strings.Join(got, " ") != strings.Join(c.keep, " ") || len(notes) != c.notes {
			t.Errorf("%v: kept %v with %d notes %q, want %v with %d", c.in, got, len(notes), notes, c.keep, c.notes)
		}
	}
}
