package nsutil

import "testing"

// A peer-netns warning from ip, printed while another namespace goes away,
// must not read as a change of links.
func TestVolatileDropsPeerNetnsWarning(t *testing.T) {
	before := "1: lo: <LOOPBACK> mtu 65536\n2: eth0@if4: <UP> mtu 1500 link-netns node"
	after := "1: lo: <LOOPBACK> mtu 65536\nError: Peer netns reference is invalid.\n2: eth0@if4: <UP> mtu 1500 link-netns node"
	if got, want := volatile.ReplaceAllString(after, ""), volatile.ReplaceAllString(before, ""); got != want {
		t.Fatalf("after normalizing:\n%s\nwant\n%s", got, want)
	}
	changed := "1: lo: <LOOPBACK> mtu 65536\n2: eth0@if4: <UP> mtu 9000 link-netns node"
	if volatile.ReplaceAllString(changed, "") == volatile.ReplaceAllString(before, "") {
		t.Fatal("a real change (mtu) was normalized away")
	}
}
