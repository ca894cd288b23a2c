package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// attachment is one network of the router pod in TestAttachmentsNeverInterfere.
type attachment struct {
	ifName, plugin, conf string
	family               int    // the family it takes out of the pod; 0: none
	client, server, want string // traffic through it: client's target, server, source it must see
}

func attachments() []attachment {
	return []attachment{
		{ifName: "net1", plugin: "egress-router", family: 4,
			conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "v4", "interfaceArgs": {"master": "ext0"},
			  "ip": {"addresses": ["192.168.12.99/24"], "gateway": "192.168.12.1", "destinations": ["80 tcp 203.0.113.5 8080"]}}`,
			client: testnet.RouterPodIP + ":80", server: testnet.FarServerIP + ":8080", want: testnet.ReservedIP},
		// Named like the old forwarding marker's table (egress-forwarding).
		{ifName: "forwarding", plugin: "egress-router", family: 6,
			conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "v6", "interfaceArgs": {"master": "ext0"},
			  "ip": {"addresses": ["fd00:12::98/64"], "gateway": "fd00:12::1", "destinations": ["80 tcp fd00:203::5 8080"]}}`,
			client: "[" + testnet.RouterPodIP6 + "]:80", server: "[" + testnet.FarServerIP6 + "]:8080", want: "fd00:12::98"},
		// Not an egress attachment: upstream macvlan with an address only.
		{ifName: "net9", plugin: "macvlan",
			conf: `{"cniVersion": "1.0.0", "type": "macvlan", "name": "plain", "master": "ext0",
			  "ipam": {"type": "static", "addresses": [{"address": "192.168.12.50/24"}]}}`},
	}
}

// view is what an attachment owns in the pod, as the tools list it.
func view(t *testing.T, netns string, a attachment) string {
	t.Helper()
	if a.family == 0 {
		return run(t, netns, "ip", "-o", "addr", "show", "dev", a.ifName)
	}
	fam := fmt.Sprintf("-%d", a.family)
	var keep []string
	for _, l := range lines(run(t, netns, "ip", fam, "route", "show", "table", "all")) {
		if strings.Contains(l, "proto 69") || strings.Contains(l, "table 17746") || strings.Contains(l, "dev "+a.ifName) {
			keep = append(keep, l)
		}
	}
	keep = append(keep, lines(run(t, netns, "ip", fam, "rule", "show"))...)
	for _, l := range nstest.NATLines(t, netns, a.family) {
		if strings.Contains(l, a.ifName) {
			keep = append(keep, l)
		}
	}
	fwd := map[int]string{4: "net.ipv4.ip_forward", 6: "net.ipv6.conf.all.forwarding"}[a.family]
	keep = append(keep, fwd+"="+strings.TrimSpace(run(t, netns, "sysctl", "-n", fwd)))
	return strings.Join(keep, "\n")
}

// TestAttachmentsNeverInterfere: an IPv4 egress attachment, an IPv6 one
// named "forwarding" and a plain macvlan beside them; a second IPv4
// egress attachment is refused before anything is created; whatever the
// order of the DELs, the attachments left keep their state and traffic,
// and the last DEL leaves the pod as it was.
func TestAttachmentsNeverInterfere(t *testing.T) {
	as := attachments()
	orders := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, order := range orders {
		var names []string
		for _, i := range order {
			names = append(names, as[i].ifName)
		}
		t.Run("DEL "+strings.Join(names, ", "), func(t *testing.T) {
			topo := up(t)
			bin := nstest.BinDir(t)
			call := func(cmd, ifName string) nstest.Call {
				return nstest.Call{Command: cmd, ContainerID: "multi", Netns: nstest.Path(topo.Router), IfName: ifName, Path: bin, RunIn: topo.Node}
			}
			do := func(a attachment, cmd string) nstest.Outcome {
				out, err := nstest.Run(filepath.Join(bin, a.plugin), call(cmd, a.ifName), []byte(a.conf))
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			before := nstest.MustTake(t, topo.Router)
			for _, a := range as {
				if out := do(a, "ADD"); out.ExitCode != 0 {
					t.Fatalf("ADD %s: %s %s", a.ifName, out.Stdout, out.Stderr)
				}
			}
			for _, s := range []string{testnet.FarServerIP + ":8080", "[" + testnet.FarServerIP6 + "]:8080"} {
				srv, err := nstest.Serve(topo.Far, "tcp", s)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(srv.Close)
			}
			traffic := func(when string, left []attachment) {
				t.Helper()
				for _, a := range left {
					if a.client == "" {
						continue
					}
					if saw, err := nstest.Ask(topo.Client, "tcp", a.client); err != nil || nstest.SourceIP(saw) != a.want {
						t.Errorf("%s: through %s the server saw %q (%v), want %s", when, a.ifName, saw, err, a.want)
					}
				}
			}
			traffic("all attached", as)

			// A second IPv4 egress attachment: refused, nothing changed.
			all := nstest.MustTake(t, topo.Router)
			third := attachment{ifName: "net3", plugin: "egress-router",
				conf: `{"cniVersion": "1.0.0", "type": "egress-router", "name": "v4b", "interfaceArgs": {"master": "ext0"},
				  "ip": {"addresses": ["192.168.12.97/24"], "gateway": "192.168.12.1", "destinations": ["203.0.113.5"]}}`}
			do(third, "ADD").WantError(t, 7, `ip.addresses "192.168.12.97/24"`, "IPv4 traffic already leaves through the egress attachment net1")
			all.Unchanged(t, topo.Router, "after the refused third attachment")
			if out := do(third, "DEL"); out.ExitCode != 0 {
				t.Errorf("DEL of the refused attachment: %s", out.Stdout)
			}
			all.Unchanged(t, topo.Router, "after the refused attachment's DEL")

			views := map[string]string{}
			for _, a := range as {
				views[a.ifName] = view(t, topo.Router, a)
			}
			left := append([]attachment{}, as...)
			for _, i := range order {
				gone := as[i]
				if out := do(gone, "DEL"); out.ExitCode != 0 {
					t.Fatalf("DEL %s: %s", gone.ifName, out.Stdout)
				}
				var rest []attachment
				for _, a := range left {
					if a.ifName != gone.ifName {
						rest = append(rest, a)
					}
				}
				left = rest
				for _, a := range left {
					if got := view(t, topo.Router, a); got != views[a.ifName] {
						t.Errorf("after DEL %s, %s changed:\n--- before\n%s\n--- after\n%s", gone.ifName, a.ifName, views[a.ifName], got)
					}
				}
				traffic("after DEL "+gone.ifName, left)
			}
			before.Unchanged(t, topo.Router, "after every DEL")
		})
	}
}
