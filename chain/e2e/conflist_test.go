package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	nadutils "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/utils"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// TestConflistLibcni runs the chain the way Multus and container runtimes
// do, through libcni, for each spec version.
func TestConflistLibcni(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			topo := up(t)
			before := nstest.MustTake(t, topo.Router)
			r := newLibcni(t, topo, conflist(v))
			res, err := r.add(t, topo)
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			if res.Version() != v {
				t.Errorf("result cniVersion %s, want %s", res.Version(), v)
			}
			checkResult(t, topo, v, toCurrent(t, res))
			checkNetworkStatus(t, res)
			checkAttached(t, topo)

			if err := r.check(t, topo); err != nil {
				t.Fatalf("CHECK after ADD: %v", err)
			}
			checkNoticesTampering(t, topo, r)

			for i := 1; i <= 2; i++ {
				if err := r.del(t, topo); err != nil {
					t.Fatalf("DEL #%d: %v", i, err)
				}
			}
			before.Unchanged(t, topo.Router, "after DEL (compared with before ADD)")
		})
	}
}

// checkNetworkStatus: the result must give Multus a complete
// k8s.v1.cni.cncf.io/network-status entry (it builds it with this client).
func checkNetworkStatus(t *testing.T, res types.Result) {
	t.Helper()
	st, err := nadutils.CreateNetworkStatus(res, "default/egress-router", false, nil)
	if err != nil {
		t.Fatalf("network-status from the result: %v", err)
	}
	if st.Interface != "net1" || st.Mac == "" {
		t.Errorf("network-status interface %q mac %q, want net1 and a MAC", st.Interface, st.Mac)
	}
	if strings.Join(st.IPs, ",") != "192.168.12.99,fd00:12::99" {
		t.Errorf("network-status ips = %v", st.IPs)
	}
	if strings.Join(st.Gateway, ",") != "192.168.12.1,fd00:12::1" {
		t.Errorf("network-status gateway = %v, want the egress gateways from the default routes", st.Gateway)
	}
}

// checkNoticesTampering deletes one NAT rule and then one route by hand
// and expects CHECK to fail each time, then restores the attachment.
func checkNoticesTampering(t *testing.T, topo *testnet.Topology, r *libcniRuntime) {
	t.Helper()
	tamper := []struct {
		what    string
		argv    []string
		wantMsg string
	}{
		{"fallback DNAT rule", nstest.Pick([]string{"iptables", "-t", "nat", "-D", "EGRESS-DNAT-net1", "-j", "DNAT", "--to-destination", "192.168.12.91"},
			[]string{"nft", "flush", "chain", "ip", "egress-net1", "prerouting"}), nstest.ChainDiffers("net1")},
		{"IPv6 SNAT", nstest.Pick([]string{"ip6tables", "-t", "nat", "-D", "POSTROUTING", "-o", "net1", "-j", "EGRESS-SNAT-net1"},
			[]string{"nft", "flush", "chain", "ip6", "egress-net1", "postrouting"}), nstest.Pick("POSTROUTING", "egress-net1 postrouting")},
		{"service route", []string{"ip", "route", "del", "172.30.0.0/16"}, "172.30.0.0"},
		{"default route", []string{"ip", "route", "del", "default", "via", "192.168.12.1", "dev", "net1"}, ""},
	}
	for _, tc := range tamper {
		run(t, topo.Router, tc.argv...)
		err := r.check(t, topo)
		if err == nil {
			t.Errorf("CHECK passed after deleting the %s by hand", tc.what)
		} else if !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("CHECK after deleting the %s: %v; want it to name %q", tc.what, err, tc.wantMsg)
		}
		// Put it back the way an operator would: DEL and ADD again.
		if err := r.del(t, topo); err != nil {
			t.Fatalf("DEL after tampering with the %s: %v", tc.what, err)
		}
		if _, err := r.add(t, topo); err != nil {
			t.Fatalf("ADD after tampering with the %s: %v", tc.what, err)
		}
		if err := r.check(t, topo); err != nil {
			t.Fatalf("CHECK after re-ADD: %v", err)
		}
	}
}

// TestConflistCnitool runs the same chain through the real cnitool binary.
func TestConflistCnitool(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			topo := up(t)
			before := nstest.MustTake(t, topo.Router)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "egress-router.conflist"), conflist(v), 0o644); err != nil {
				t.Fatal(err)
			}
			netns := nstest.Path(topo.Router)
			out, err := cnitool(t, topo, dir, "add", netns)
			if err != nil {
				t.Fatal(err)
			}
			res := parseResult(t, out)
			checkResult(t, topo, v, res)
			checkAttached(t, topo)
			if _, err := cnitool(t, topo, dir, "check", netns); err != nil {
				t.Fatalf("cnitool check: %v", err)
			}
			undo := nstest.StrayRule(t, topo.Router, "net1")
			if _, err := cnitool(t, topo, dir, "check", netns); err == nil {
				t.Errorf("cnitool check passed with a DNAT rule added by hand")
			}
			undo()
			for i := 1; i <= 2; i++ {
				if _, err := cnitool(t, topo, dir, "del", netns); err != nil {
					t.Fatalf("cnitool del #%d: %v", i, err)
				}
			}
			before.Unchanged(t, topo.Router, "after DEL (compared with before ADD)")
		})
	}
}

// TestDelAfterNetnsGone: the runtime may DEL after the pod's netns is
// deleted, and again with an empty CNI_NETNS.
func TestDelAfterNetnsGone(t *testing.T) {
	topo := up(t)
	r := newLibcni(t, topo, conflist("1.1.0"))
	if _, err := r.add(t, topo); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	if out, err := execIP("netns", "del", topo.Router); err != nil {
		t.Fatalf("ip netns del: %v: %s", err, out)
	}
	if err := r.del(t, topo); err != nil {
		t.Fatalf("DEL with the netns gone: %v", err)
	}
	r.rt.NetNS = ""
	if err := r.del(t, topo); err != nil {
		t.Fatalf("DEL with an empty CNI_NETNS: %v", err)
	}
	// The macvlan went with the netns; nothing of ours is left on the node.
	if links := run(t, topo.Node, "ip", "-o", "link"); strings.Contains(links, "macvlan") {
		t.Errorf("a macvlan link is left on the node:\n%s", links)
	}
}
