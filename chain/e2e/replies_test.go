package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"sigs.k8s.io/yaml"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// operatorConfig is deploy/kubernetes/nad-operator.yaml's spec.config:
// the OpenShift operator's rendered NAD, byte for byte. It names no
// clusterCIDRs.
func operatorConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/kubernetes/nad-operator.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var n nadv1.NetworkAttachmentDefinition
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(n.Spec.Config, "clusterCIDRs") {
		t.Fatal("the operator's NAD names cluster CIDRs; this test is about one that does not")
	}
	return n.Spec.Config
}

// TestRepliesWithoutClusterCIDRs: the operator's NAD, unchanged, serves a
// client on another subnet than the router pod's eth0 (OpenShift bug
// 2075475: the replies left through net1). Connections that arrive on
// eth0 are answered through it, in both forms, TCP and UDP; on-link
// clients stay direct; CHECK sees the reply path; DEL removes it.
func TestRepliesWithoutClusterCIDRs(t *testing.T) {
	single := operatorConfig(t)
	for _, form := range []string{"single", "conflist"} {
		t.Run(form, func(t *testing.T) {
			topo := up(t)
			bin := nstest.BinDir(t)
			before := nstest.MustTake(t, topo.Router)
			cni := libcni.NewCNIConfigWithCacheDir([]string{bin}, t.TempDir(), nil)
			rt := &libcni.RuntimeConf{ContainerID: "ctr-" + topo.Prefix, NetNS: nstest.Path(topo.Router), IfName: "net1"}
			ctx := context.Background()
			var add func() error
			var check, del func() error
			if form == "single" {
				//lint:ignore SA1019 Multus v4.3 loads a single-plugin config with ConfFromBytes; test what it does
				conf, err := libcni.ConfFromBytes([]byte(single))
				if err != nil {
					t.Fatal(err)
				}
				add = func() error { _, err := cni.AddNetwork(ctx, conf, rt); return err }
				check = func() error { return cni.CheckNetwork(ctx, conf, rt) }
				del = func() error { return cni.DelNetwork(ctx, conf, rt) }
			} else {
				f := filepath.Join(t.TempDir(), "operator.json")
				os.WriteFile(f, []byte(single), 0o644)
				out, err := exec.Command("ip", "netns", "exec", topo.Node, filepath.Join(bin, "egress-chain"), "conflist", f).CombinedOutput()
				if err != nil {
					t.Fatalf("egress-chain conflist: %v: %s", err, out)
				}
				list, err := libcni.NetworkConfFromBytes(out)
				if err != nil {
					t.Fatal(err)
				}
				add = func() error { _, err := cni.AddNetworkList(ctx, list, rt); return err }
				check = func() error { return cni.CheckNetworkList(ctx, list, rt) }
				del = func() error { return cni.DelNetworkList(ctx, list, rt) }
			}
			if err := inNode(t, topo, add); err != nil {
				t.Fatalf("ADD: %v", err)
			}
			for _, s := range []struct{ proto, addr string }{{"tcp", "203.0.113.26:80"}, {"tcp", "203.0.113.27:443"}, {"udp", "10.0.0.99:80"}} {
				srv, err := nstest.Serve(topo.Far, s.proto, s.addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(srv.Close)
			}
			// The client (10.130.0.5) is on another subnet than the
			// router's eth0 (10.129.2.0/23), and the NAD names no cluster
			// CIDRs: only the reply path brings the answers back.
			for _, q := range []struct{ proto, port string }{{"tcp", "8080"}, {"tcp", "8443"}, {"udp", "80"}} {
				saw, err := nstest.Ask(topo.Client, q.proto, testnet.RouterPodIP+":"+q.port)
				if err != nil || nstest.SourceIP(saw) != testnet.OperatorIP {
					t.Errorf("%s to %s:%s: the server saw %q (%v), want %s", q.proto, testnet.RouterPodIP, q.port, saw, err, testnet.OperatorIP)
				}
			}
			// Marked replies go back through eth0: via its gateway off the
			// subnet, directly on it; unmarked traffic takes the egress
			// default.
			for _, c := range []struct{ dst, mark, want string }{
				{testnet.ClientPodIP, "0x20000000", "via 10.129.2.1 dev eth0"},
				{"10.129.2.40", "0x20000000", "10.129.2.40 dev eth0"},
				{testnet.ClientPodIP, "0", "via 192.168.3.1 dev net1"},
			} {
				if got := run(t, topo.Router, "ip", "route", "get", c.dst, "mark", c.mark); !strings.Contains(got, c.want) {
					t.Errorf("route to %s with mark %s: %q, want %q", c.dst, c.mark, strings.TrimSpace(got), c.want)
				}
			}
			if err := inNode(t, topo, check); err != nil {
				t.Errorf("CHECK: %v", err)
			}
			// Without the rule that sends replies to eth0's default, they
			// are lost again, and CHECK says what is missing.
			run(t, topo.Router, "ip", "rule", "del", "pref", "17746")
			if saw, err := nstest.Ask(topo.Client, "udp", testnet.RouterPodIP+":80"); err == nil {
				t.Errorf("an answer (%s) without the reply-path rule: the test proves nothing", saw)
			}
			if err := inNode(t, topo, check); err == nil || !strings.Contains(err.Error(), "reply-path rule 17746") {
				t.Errorf("CHECK without the rule: %v", err)
			}
			if err := inNode(t, topo, del); err != nil {
				t.Fatalf("DEL: %v", err)
			}
			before.Unchanged(t, topo.Router, "after DEL")
		})
	}
}
