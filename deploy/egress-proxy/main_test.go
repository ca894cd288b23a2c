package main

import (
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestAllowList(t *testing.T) {
	a, err := parseAllow("www.Example.com, *.example.org,api.example.net.")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"www.example.com": true, "WWW.EXAMPLE.COM.": true, "example.com": false, "evil.www.example.com": false,
		"a.example.org": true, "a.b.example.org.": true, "example.org": false, "badexample.org": false,
		"api.example.net": true, "203.0.113.5": false,
	} {
		if got := a.allows(name); got != want {
			t.Errorf("allows(%q) = %v, want %v", name, got, want)
		}
	}
	for _, bad := range []string{"", " , ", "a*.example.com", "example.com/x"} {
		if _, err := parseAllow(bad); err == nil {
			t.Errorf("parseAllow(%q) accepted", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"http", "-check", "-allow", "a.example"}, ""},
		{[]string{"dns", "-check", "-allow", "a.example"}, "-upstream is required"},
		{[]string{"http", "-check", "-allow", "a.example", "-connect-ports", "443,x"}, `"x" is not a port`},
		{[]string{"http", "-check", "-allow", "a.example", "-map", "a.example"}, "want NAME=IP"},
		{[]string{"socks", "-check"}, "usage"},
		{[]string{"http", "-check"}, "-allow: empty"},
	} {
		err := run(c.argv)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.argv, err, c.want)
		}
	}
}

// A refused query is answered REFUSED, with its ID and question.
func TestRefused(t *testing.T) {
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("evil.example."), Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET}
	b, err := refused(dnsmessage.Header{ID: 99, RecursionDesired: true}, q)
	if err != nil {
		t.Fatal(err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if m.ID != 99 || !m.Response || m.RCode != dnsmessage.RCodeRefused || len(m.Questions) != 1 || m.Questions[0] != q || !m.RecursionDesired {
		t.Errorf("answer %+v", m)
	}
}
