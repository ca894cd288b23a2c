package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/nstest"
)

// routerConfigs are egress-router configs whose single-plugin form and
// rendered conflist must give the same pod.
var routerConfigs = map[string]string{
	"seed 001": `{"cniVersion": "0.4.0", "type": "egress-router", "name": "egress-router",
  "ip": {"addresses": ["192.168.12.99/24"], "destinations": ["192.168.12.91/32"], "gateway": "192.168.12.1"}}`,
	"dual stack, inferred master and gateways, private mode": `{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress-router",
  "ip": {"addresses": ["192.168.12.99/24", "fd00:12::99/64"],
         "destinations": ["80 TCP 203.0.113.5 8080", "5353 UDP 203.0.113.5", "80 tcp fd00:203::5 8080", "fd00:12::91"],
         "fallbackIP": "192.168.12.91"},
  "interfaceArgs": {"mode": "PRIVATE", "mtu": "1400"},
  "clusterCIDRs": ["10.128.0.0/14", "fd00:100::/24"], "serviceCIDRs": ["172.30.0.0/16", "fd00:172:30::/112"]}`,
	"host address, routes only, no NAT": `{"cniVersion": "1.1.0", "type": "egress-router", "name": "egress-router",
  "ip": {"addresses": ["192.168.12.99"], "gateway": "192.168.12.1", "destinations": []},
  "interfaceArgs": {"master": "ext0", "mode": "vepa"}, "clusterCIDRs": ["10.128.0.0/14"]}`,
}

// hostAddress marks the configs whose address is a /32.
var hostAddress = map[string]bool{"host address, routes only, no NAT": true}

// podState is what an attachment made in the pod, in a form that does
// not depend on the random MAC address.
func podState(t *testing.T, netns string) map[string]string {
	t.Helper()
	st := map[string]string{}
	link := run(t, netns, "ip", "-d", "-o", "link", "show", "net1")
	st["kind"] = regexp.MustCompile(`(macvlan|ipvlan) mode \S+`).FindString(link)
	st["mtu"] = regexp.MustCompile(`mtu \d+`).FindString(link)
	var addrs []string
	for _, l := range lines(run(t, netns, "ip", "-o", "addr", "show", "dev", "net1", "scope", "global")) {
		f := strings.Fields(l)
		addrs = append(addrs, f[2]+" "+f[3])
	}
	st["addrs"] = strings.Join(addrs, "\n")
	for _, fam := range []string{"-4", "-6"} {
		var rs []string
		for _, l := range lines(run(t, netns, "ip", fam, "route", "show", "table", "all")) {
			if !strings.Contains(l, "fe80") {
				rs = append(rs, l)
			}
		}
		sort.Strings(rs)
		st["routes"+fam] = strings.Join(rs, "\n")
	}
	st["nat4"] = strings.Join(nstest.NATLines(t, netns, 4), "\n")
	st["nat6"] = strings.Join(nstest.NATLines(t, netns, 6), "\n")
	st["forwarding"] = run(t, netns, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")
	return st
}

// resultSummary is a result's interface names, addresses and routes.
func resultSummary(t *testing.T, res types.Result) string {
	r := toCurrent(t, res)
	var s []string
	for _, i := range r.Interfaces {
		s = append(s, "if "+i.Name+" "+i.Sandbox)
	}
	for _, ip := range r.IPs {
		s = append(s, fmt.Sprintf("ip %s gw %v", ip.Address.String(), ip.Gateway))
	}
	for _, rt := range r.Routes {
		s = append(s, fmt.Sprintf("route %s via %v", rt.Dst.String(), rt.GW))
	}
	return strings.Join(s, "\n")
}

// TestSinglePluginEqualsConflist attaches each config through the single
// egress-router plugin (libcni AddNetwork, as Multus does for a NAD whose
// config is one plugin) and through the conflist egress-chain renders from
// it (AddNetworkList), and compares what each left in the pod.
func TestSinglePluginEqualsConflist(t *testing.T) {
	names := make([]string, 0, len(routerConfigs))
	for n := range routerConfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		single := routerConfigs[name]
		t.Run(name, func(t *testing.T) {
			topo := up(t)
			bin := nstest.BinDir(t)
			before := nstest.MustTake(t, topo.Router)
			cni := libcni.NewCNIConfigWithCacheDir([]string{bin}, t.TempDir(), nil)
			rt := &libcni.RuntimeConf{ContainerID: "ctr-" + topo.Prefix, NetNS: nstest.Path(topo.Router), IfName: "net1"}
			ctx := context.Background()

			//lint:ignore SA1019 Multus v4.3 loads a single-plugin config with ConfFromBytes; test what it does
			conf, err := libcni.ConfFromBytes([]byte(single))
			if err != nil {
				t.Fatal(err)
			}
			var res types.Result
			if err := inNode(t, topo, func() (err error) { res, err = cni.AddNetwork(ctx, conf, rt); return err }); err != nil {
				t.Fatalf("single plugin ADD: %v", err)
			}
			singleState, singleRes := podState(t, topo.Router), resultSummary(t, res)
			if err := inNode(t, topo, func() error { return cni.CheckNetwork(ctx, conf, rt) }); err != nil && conf.Network.CNIVersion != "0.3.1" {
				t.Errorf("single plugin CHECK: %v", err)
			}
			if hostAddress[name] {
				run(t, topo.Router, "ip", "addr", "del", "192.168.12.99/32", "dev", "net1")
				err := inNode(t, topo, func() error { return cni.CheckNetwork(ctx, conf, rt) })
				if err == nil || !strings.Contains(err.Error(), "192.168.12.99/32") {
					t.Errorf("single plugin CHECK with the /32 address removed: %v, want an error naming it", err)
				}
			}
			if err := inNode(t, topo, func() error { return cni.DelNetwork(ctx, conf, rt) }); err != nil {
				t.Fatalf("single plugin DEL: %v", err)
			}
			before.Unchanged(t, topo.Router, "after the single plugin's DEL")

			// Render on the node, where master and gateway inference look.
			f := filepath.Join(t.TempDir(), "router.json")
			if err := os.WriteFile(f, []byte(single), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("ip", "netns", "exec", topo.Node, filepath.Join(bin, "egress-chain"), "conflist", f).CombinedOutput()
			if err != nil {
				t.Fatalf("egress-chain conflist: %v: %s", err, out)
			}
			list, err := libcni.NetworkConfFromBytes(out)
			if err != nil {
				t.Fatalf("rendered conflist does not load: %v\n%s", err, out)
			}
			if err := inNode(t, topo, func() (err error) { res, err = cni.AddNetworkList(ctx, list, rt); return err }); err != nil {
				t.Fatalf("conflist ADD: %v\n%s", err, out)
			}
			listState, listRes := podState(t, topo.Router), resultSummary(t, res)
			err = inNode(t, topo, func() error { return cni.CheckNetworkList(ctx, list, rt) })
			if hostAddress[name] {
				// Upstream macvlan's CHECK looks for a kernel route to the
				// address's prefix, which a /32 never has; the single
				// plugin checks host addresses itself.
				if err == nil || !strings.Contains(err.Error(), "Failed to find Gateway") {
					t.Errorf("conflist CHECK with a /32: %v; the upstream limitation is gone, update docs/troubleshooting.md", err)
				}
			} else if err != nil {
				t.Errorf("conflist CHECK: %v", err)
			}
			if err := inNode(t, topo, func() error { return cni.DelNetworkList(ctx, list, rt) }); err != nil {
				t.Fatalf("conflist DEL: %v", err)
			}
			before.Unchanged(t, topo.Router, "after the conflist's DEL")

			if singleRes != listRes {
				t.Errorf("results differ:\n--- single plugin\n%s\n--- conflist\n%s", singleRes, listRes)
			}
			keys := make([]string, 0, len(singleState))
			for k := range singleState {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if singleState[k] != listState[k] {
					t.Errorf("%s differs:\n--- single plugin\n%s\n--- conflist\n%s", k, singleState[k], listState[k])
				}
			}
			if singleState["kind"] == "" || singleState["addrs"] == "" || !strings.Contains(singleState["routes-4"], "proto 69") {
				t.Errorf("the attachment left too little to compare: %v", singleState)
			}
		})
	}
}
