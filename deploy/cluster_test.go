package deploy_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/egress-router/egress-router/chain/egressrouter"
	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/nsutil"
)

// The cluster test's network. The node's macvlan master is named ens4 and
// carries both egress subnets, and the external namespace holds the
// gateways and servers deploy/'s manifests name, so the manifests apply
// unchanged.
const (
	nodeName     = "egress-node"
	nodeIP       = "192.168.12.2"
	podSubnet    = "10.128.1.0/24" // inside the NADs' clusterCIDRs
	operatorIP   = "192.168.3.10"  // nad-operator.yaml's reserved address
	singleIP     = "192.168.12.99" // nad-single.yaml's and nad-conflist.yaml's
	singleServer = "192.168.12.91" // their destination
)

// operatorLog is where egress-router logs for nad-operator.yaml, whose
// log_file is /tmp/egress-router-log: the node's log folder (the test
// policy's), under the file's base name.
func operatorLog() string { return filepath.Join(nstest.LogDir(), "egress-router-log") }

type cluster struct {
	*nstest.KubeNode
	node, ext string
	// nodes are every node of the cluster (KubeNode is the first).
	nodes []*nstest.KubeNode
}

// onNode returns the cluster's node called name.
func (c *cluster) onNode(name string) *nstest.KubeNode {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return c.KubeNode
}

// startCluster builds node and ext namespaces and starts a single-node
// cluster in node, with deploy/'s RBAC and NADs applied.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	bin := nstest.BinDir(t)
	prefix := fmt.Sprintf("k8s%d-", os.Getpid()%100000)
	c := &cluster{node: prefix + "node", ext: prefix + "ext"}
	makeNamespaces(t, c.node, c.ext)
	if err := nsutil.IP(c.node, "link add ens4 type veth peer name ext1 netns "+c.ext,
		"addr add 192.168.12.2/24 dev ens4", "addr add 192.168.3.2/24 dev ens4", "link set ens4 up"); err != nil {
		t.Fatal(err)
	}
	if err := nsutil.IP(c.ext, "addr add 192.168.12.1/24 dev ext1", "addr add 192.168.12.91/24 dev ext1",
		"addr add 192.168.3.1/24 dev ext1", "link set ext1 up",
		"addr add 203.0.113.26/32 dev lo", "addr add 203.0.113.27/32 dev lo", "addr add 10.0.0.99/32 dev lo"); err != nil {
		t.Fatal(err)
	}
	c.KubeNode = nstest.StartKubeNode(t, c.node, nodeName, nodeIP, podSubnet, bin)
	c.nodes = []*nstest.KubeNode{c.KubeNode}
	c.applyCRD(t)
	c.install(t, bin)
	c.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: egress}\n")
	for _, f := range []string{"rbac.yaml", "nad-single.yaml", "nad-conflist.yaml", "nad-operator.yaml"} {
		b, err := os.ReadFile(filepath.Join("kubernetes", f))
		if err != nil {
			t.Fatal(err)
		}
		c.Apply(t, string(b))
	}
	c.WaitFor(t, "ServiceAccount egress/default", func() error {
		_, err := c.Kubectl("get", "-n", "egress", "serviceaccount", "default")
		return err
	})
	return c
}

// makeNamespaces makes the test's namespaces with forwarding on, and
// removes them when the test ends; the machine's own namespace must come
// out as it went in (kubelet would add iptables chains there if it ran
// outside the node's).
func makeNamespaces(t *testing.T, names ...string) {
	t.Helper()
	root := nstest.MustTake(t, "")
	t.Cleanup(func() { root.Unchanged(t, "", "after the cluster stopped") })
	t.Cleanup(func() {
		for _, n := range names {
			if err := nsutil.Del(n); err != nil {
				t.Errorf("removing %s: %v", n, err)
			}
		}
	})
	for _, n := range names {
		if err := nsutil.Add(n); err != nil {
			t.Fatal(err)
		}
		if err := nsutil.Sysctls(n, nsutil.Forwarding); err != nil {
			t.Fatal(err)
		}
	}
}

// applyCRD applies the NetworkAttachmentDefinition CRD a Multus install
// would create, and waits until it serves.
func (c *cluster) applyCRD(t *testing.T) {
	t.Helper()
	crd, err := os.ReadFile("local/nad-crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(t, string(crd))
	if _, err := c.Kubectl("wait", "--for=condition=Established", "crd/network-attachment-definitions.k8s.cni.cncf.io", "--timeout=30s"); err != nil {
		t.Fatal(err)
	}
}

// installer is the installer DaemonSet deploy/kubernetes names.
const installer = "egress-router-cni-installer"

// install puts the plugins on the node as a cluster admin would: the
// installer image (built from bin as make image builds it) is imported
// into the node's containerd as if pulled, and deploy/kubernetes's policy
// and installer DaemonSet are applied unchanged. It waits for the rollout
// and checks what landed on the node.
func (c *cluster) install(t *testing.T, bin string) {
	t.Helper()
	ds, image := installerManifest(t)
	archive := buildImage(t, bin, image, t.TempDir())
	for _, n := range c.nodes {
		if err := n.ImportImage(archive); err != nil {
			t.Fatal(err)
		}
	}
	pol, err := os.ReadFile("kubernetes/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(t, string(pol))
	c.Apply(t, ds)
	c.rollout(t)
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(pol, &cm); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		for _, f := range installedFiles {
			if got, want := sha256File(t, n.NodePath(filepath.Join(nstest.NodeCNIBin, f))), sha256File(t, filepath.Join(bin, f)); got != want {
				t.Errorf("%s's %s is not the image's", n.Name, f)
			}
		}
		got, err := os.ReadFile(n.NodePath(filepath.Join(nstest.NodePolicyDir, "policy.json")))
		if err != nil || string(got) != cm.Data["policy.json"] {
			t.Errorf("%s's policy file is %q (%v), want the ConfigMap's %q", n.Name, got, err, cm.Data["policy.json"])
		}
	}
}

// installedFiles are what the installer puts in the node's CNI bin folder.
var installedFiles = []string{"egress-router", "egress-ipconfig", "egress-route", "egress-nat", "macvlan", "ipvlan", "static"}

// installerManifest is deploy/kubernetes's installer DaemonSet and the
// image it names.
func installerManifest(t *testing.T) (string, string) {
	t.Helper()
	b, err := os.ReadFile("kubernetes/installer-daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(b, &ds); err != nil {
		t.Fatal(err)
	}
	return string(b), ds.Spec.Template.Spec.InitContainers[0].Image
}

// rollout waits until every installer pod runs the DaemonSet's template.
func (c *cluster) rollout(t *testing.T) {
	t.Helper()
	if err := c.rolloutErr(); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) rolloutErr() error {
	if out, err := c.Kubectl("-n", "kube-system", "rollout", "status", "daemonset/"+installer, "--timeout=120s"); err != nil {
		log := c.Log("kubelet.log")
		return fmt.Errorf("installer rollout: %v: %s\n%s", err, out, log[max(0, len(log)-3000):])
	}
	return nil
}

// upgrade rolls the installer DaemonSet out to a new image version, as an
// admin upgrading would, while a client keeps opening connections through
// the router r: none may fail, and the node's egress-router binary must
// only ever read as the old file or the new one, never a part of either.
// At the end a new router pod, attached by the new binary, must work.
func (c *cluster) upgrade(t *testing.T, client, r pod) {
	bin := nstest.BinDir(t)
	_, image := installerManifest(t)
	next := image + "-next"
	version := strings.TrimPrefix(next, strings.Split(image, ":")[0]+":")
	// The next version: the same image files, egress-router rebuilt to
	// say its new version.
	dir := t.TempDir()
	for _, f := range append([]string{"egress-install", "egress-proxy"}, installedFiles...) {
		b, err := os.ReadFile(filepath.Join(bin, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags",
		"-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion="+version,
		"-o", filepath.Join(dir, "egress-router"), "../plugins/egress-router")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the next egress-router: %v\n%s", err, out)
	}
	if err := c.ImportImage(buildImage(t, dir, next, t.TempDir())); err != nil {
		t.Fatal(err)
	}
	installed := c.NodePath(filepath.Join(nstest.NodeCNIBin, "egress-router"))
	oldSum, newSum := sha256File(t, installed), sha256File(t, filepath.Join(dir, "egress-router"))
	if oldSum == newSum {
		t.Fatal("the next version's egress-router is the same file")
	}

	// Watch the installed file until the rollout is over.
	done := make(chan struct{})
	type watch struct {
		reads, torn, sawNew int
		err                 error
	}
	watched := make(chan watch, 1)
	go func() {
		var w watch
		defer func() { watched <- w }()
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(installed)
			if err != nil {
				w.err = err
				return
			}
			sum := sha256.Sum256(b)
			switch hex.EncodeToString(sum[:]) {
			case oldSum:
			case newSum:
				w.sawNew++
			default:
				w.torn++
			}
			w.reads++
		}
	}()
	if out, err := c.Kubectl("-n", "kube-system", "set", "image", "daemonset/"+installer, "install="+next, "pause="+next); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	rolled := make(chan error, 1)
	go func() { rolled <- c.rolloutErr() }()
	conns, failed := 0, 0
	for waiting := true; waiting; {
		select {
		case err := <-rolled:
			if err != nil {
				t.Error(err)
			}
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
		saw, err := nstest.Ask(client.netns, "tcp", r.ip+":8080")
		conns++
		if err != nil || nstest.SourceIP(saw) != operatorIP {
			failed++
			t.Errorf("connection %d through the router during the rollout: saw %q, %v", conns, saw, err)
		}
	}
	close(done)
	w := <-watched
	if w.err != nil || w.torn > 0 || w.sawNew == 0 {
		t.Errorf("the installed egress-router read %d times: %d neither the old nor the new file, %d the new one (%v)", w.reads, w.torn, w.sawNew, w.err)
	}
	if got := sha256File(t, installed); got != newSum {
		t.Error("after the rollout the node's egress-router is not the new version's")
	}
	about, _ := exec.Command(installed).CombinedOutput()
	if !strings.Contains(string(about), version) {
		t.Errorf("the installed egress-router says %q, want version %s", about, version)
	}
	t.Logf("rollout to %s: %d connections through the router, %d failed; the installed file read %d times, never torn", next, conns, failed, w.reads)
	// The next ADD runs the new binary: a new router pod works.
	if out, err := c.Kubectl("-n", "egress", "delete", "pod", r.name, "--wait=false"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c.WaitFor(t, "the router pod replaced", func() error {
		out, err := c.Kubectl("-n", "egress", "get", "pods", "-l", "app=egress-router-cni", "-o", "jsonpath={.items[*].metadata.name}")
		if err != nil || strings.Contains(out, r.name) {
			return fmt.Errorf("pods %q (%v)", out, err)
		}
		return nil
	})
	nr := c.runningPod(t, "app=egress-router-cni")
	if got := ask(t, client.netns, "tcp", nr.ip+":8080"); got != operatorIP {
		t.Errorf("through the new router pod the server saw %s, want %s", got, operatorIP)
	}
}

// pod is a running pod as the test sees it.
type pod struct {
	name, ip, netns, node string
}

// runningPod waits until the pod matching selector is Ready.
func (c *cluster) runningPod(t *testing.T, selector string) pod {
	t.Helper()
	var p pod
	c.WaitFor(t, "pod "+selector+" Ready", func() error {
		out, err := c.Kubectl("get", "pod", "-n", "egress", "-l", selector, "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status} {.spec.nodeName}{"\n"}{end}`)
		if err != nil {
			return err
		}
		f := strings.Fields(out)
		if len(f) != 4 || f[2] != "True" {
			return fmt.Errorf("not one Ready pod: %q", out)
		}
		p = pod{name: f[0], ip: f[1], node: f[3]}
		// After a sandbox is replaced the status may still show the old
		// sandbox's address for a moment.
		if p.netns, err = c.onNode(p.node).PodNetns("egress", p.name); err != nil {
			return err
		}
		eth0, err := nstest.InNS(p.netns, "ip", "-o", "-4", "addr", "show", "eth0")
		if err != nil || !strings.Contains(eth0, " "+p.ip+"/") {
			return fmt.Errorf("status says %s, eth0 has %s (%v)", p.ip, eth0, err)
		}
		return nil
	})
	return p
}

func (c *cluster) gone(t *testing.T, selector string) {
	t.Helper()
	c.WaitFor(t, "pods "+selector+" gone", func() error {
		out, err := c.Kubectl("get", "pod", "-n", "egress", "-l", selector, "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("still there: %s", out)
		}
		return nil
	})
}

// testPod is a bare pod, attached to a NAD when nad is not empty.
func testPod(name, nad string) string {
	annotations := ""
	if nad != "" {
		annotations = "\n  annotations: {k8s.v1.cni.cncf.io/networks: " + nad + "}"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  namespace: egress
  labels: {test: %[1]s}%[2]s
spec:
  containers: [{name: pause, image: %[3]q}]
`, name, annotations, nstest.PauseImage)
}

// inPod runs a command in a pod's network namespace.
// Only its standard output is kept: ip writes warnings to stderr while it
// lists (a peer netns another test is deleting at that moment), which are
// not the pod's state.
func inPod(t *testing.T, netns string, argv ...string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command("nsenter", append([]string{"--net=" + nstest.Path(netns)}, argv...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s in %s: %v: %s", strings.Join(argv, " "), netns, err, stderr.String())
	}
	return string(out)
}

var macLine = regexp.MustCompile(`link/ether \S+`)

// egressState is what a router's network namespace holds for net1:
// the link (less its random MAC), addresses, every route and the NAT.
func egressState(t *testing.T, netns string) []string {
	t.Helper()
	var s []string
	link := inPod(t, netns, "ip", "-d", "-o", "link", "show", "net1")
	s = append(s, macLine.ReplaceAllString(regexp.MustCompile(`^\d+: `).ReplaceAllString(link, ""), "link/ether MAC"))
	s = append(s, strings.Split(inPod(t, netns, "ip", "-o", "-4", "addr", "show", "net1"), "\n")...)
	for _, fam := range []string{"-4", "-6"} {
		s = append(s, strings.Split(inPod(t, netns, "ip", fam, "route", "show", "table", "all"), "\n")...)
	}
	s = append(s, nstest.NATLines(t, netns, 4)...)
	// The pod's own cluster address differs from pod to pod, and IPv6
	// link-local addresses come from the random MAC, after DAD.
	eth0 := regexp.MustCompile(`10\.128\.1\.\d+`)
	var out []string
	for _, l := range s {
		if !strings.Contains(l, "fe80:") {
			out = append(out, eth0.ReplaceAllString(strings.TrimSpace(l), "POD-IP"))
		}
	}
	return out
}

// networkStatus is one entry of Multus's k8s.v1.cni.cncf.io/network-status.
type networkStatus struct {
	Name      string   `json:"name"`
	Interface string   `json:"interface"`
	IPs       []string `json:"ips"`
	Mac       string   `json:"mac"`
	Default   bool     `json:"default"`
	Gateway   []string `json:"gateway"`
}

func (c *cluster) networkStatus(t *testing.T, pod string) []networkStatus {
	t.Helper()
	out, err := c.Kubectl("get", "pod", "-n", "egress", pod, "-o", `jsonpath={.metadata.annotations.k8s\.v1\.cni\.cncf\.io/network-status}`)
	if err != nil {
		t.Fatal(err)
	}
	var st []networkStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("network-status %q: %v", out, err)
	}
	return st
}

// ask sends one TCP connection or UDP datagram from a pod and returns the
// source address the external server saw.
func ask(t *testing.T, from, proto, addr string) string {
	t.Helper()
	saw, err := nstest.Ask(from, proto, addr)
	if err != nil {
		t.Fatal(err)
	}
	return nstest.SourceIP(saw)
}

// TestOnANode runs deploy/'s manifests on a real single-node cluster
// (etcd, kube-apiserver, controller manager, scheduler, containerd with
// runc, kubelet, Multus v4.3.0 thin). The plugins reach the node the way
// they reach a real one: the installer DaemonSet copies them from its
// image (built as make image builds it) into the node's CNI bin folder,
// and an upgrade to a new image version replaces them while a router
// keeps working. The router Deployment comes up with net1 from
// egress-router through Multus, a client pod's TCP and UDP leave from the
// reserved address (a client on the router's subnet and one on another
// subnet, with the operator's NAD as it is), the single-plugin and
// conflist NADs give the same router, and deleting a router leaves
// nothing on the node.
func TestOnANode(t *testing.T) {
	c := startCluster(t)
	// The node's policy lists the kubeconfig the ipConfig NAD names (the
	// test's admin one stands in for Multus's).
	nstest.UsePolicy(t, map[string]any{"kubeconfigs": []string{c.Kubeconfig}})
	servers := map[string]*nstest.Server{}
	for _, s := range []struct{ proto, addr string }{
		{"tcp", "203.0.113.26:80"}, {"tcp", "203.0.113.27:443"}, {"udp", "10.0.0.99:80"},
		{"tcp", singleServer + ":5000"}, {"udp", singleServer + ":5001"},
	} {
		srv, err := nstest.Serve(c.ext, s.proto, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		servers[s.proto+" "+s.addr] = srv
	}
	c.Apply(t, testPod("client", ""))
	client := c.runningPod(t, "test=client")
	far := c.farClient(t)
	router, err := os.ReadFile("kubernetes/router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// First the upgrade, under a router of its own: it replaces the
	// installer pod, which the node snapshot below must already show.
	t.Run("installer upgrade", func(t *testing.T) {
		c.Apply(t, string(router))
		c.upgrade(t, client, c.runningPod(t, "app=egress-router-cni"))
		if out, err := c.Kubectl("delete", "-n", "egress", "deployment/egress-router-cni-deployment", "service/app-egress"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		c.gone(t, "app=egress-router-cni")
	})

	logBefore := fileSize(operatorLog())
	before := nstest.MustTake(t, c.node)
	c.Apply(t, string(router))
	var r pod
	t.Run("deployment", func(t *testing.T) {
		r = c.runningPod(t, "app=egress-router-cni")
		// Multus reports what the plugin returned: check it against the pod.
		status := c.networkStatus(t, r.name)
		var net1 *networkStatus
		for i := range status {
			if status[i].Interface == "net1" {
				net1 = &status[i]
			}
		}
		if net1 == nil {
			t.Fatalf("network-status has no net1: %+v", status)
		}
		var links []struct {
			Address string `json:"address"`
		}
		if err := json.Unmarshal([]byte(inPod(t, r.netns, "ip", "-j", "link", "show", "net1")), &links); err != nil || len(links) != 1 {
			t.Fatalf("net1 in the router pod: %v %+v", err, links)
		}
		want := networkStatus{Name: "egress/egress-router-cni-nad", Interface: "net1", IPs: []string{operatorIP},
			Mac: links[0].Address, Gateway: []string{"192.168.3.1"}}
		if !reflect.DeepEqual(*net1, want) {
			t.Errorf("network-status net1 = %+v, want %+v", *net1, want)
		}
		// ... and against the result egress-router gave.
		raw, err := c.DelegateResult("egress-router-cni-nad", lastID(t, operatorLog(), logBefore, "ADD"), "net1")
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Interfaces []struct{ Name, Mac string }
			IPs        []struct{ Address, Gateway string }
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("cached result %s: %v", raw, err)
		}
		fromResult := networkStatus{Name: net1.Name, Interface: "net1"}
		for _, i := range res.Interfaces {
			if i.Name == "net1" {
				fromResult.Mac = i.Mac
			}
		}
		for _, ip := range res.IPs {
			fromResult.IPs = append(fromResult.IPs, strings.Split(ip.Address, "/")[0])
			fromResult.Gateway = append(fromResult.Gateway, ip.Gateway)
		}
		if !reflect.DeepEqual(*net1, fromResult) {
			t.Errorf("network-status net1 = %+v, the plugin's result says %+v (%s)", *net1, fromResult, raw)
		}
		if addr := inPod(t, r.netns, "ip", "-o", "-4", "addr", "show", "net1"); !strings.Contains(addr, operatorIP+"/24") {
			t.Errorf("net1 in the pod: %s", addr)
		}
		// The Service selects the router pod.
		c.WaitFor(t, "EndpointSlice of app-egress", func() error {
			out, err := c.Kubectl("get", "endpointslices", "-n", "egress", "-l", "kubernetes.io/service-name=app-egress",
				"-o", "jsonpath={.items[*].endpoints[*].addresses[*]}")
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) != r.ip {
				return fmt.Errorf("endpoints %q, want the router pod %s", out, r.ip)
			}
			return nil
		})
	})
	if t.Failed() {
		return
	}
	t.Run("traffic", func(t *testing.T) { operatorTraffic(t, c, client, r, servers) })
	// nad-operator.yaml has no clusterCIDRs: a client on a subnet the
	// router's eth0 has no route for still gets its replies (through eth0,
	// not net1's default route).
	t.Run("traffic from another subnet", func(t *testing.T) { operatorTraffic(t, c, far, r, servers) })
	// A sandbox that dies is replaced while the pod lives on: kubelet stops
	// it (DEL with its netns) and starts a new one (ADD). kubelet's garbage
	// collector keeps a pod's latest dead sandbox, so a second death makes
	// the first removable; containerd then calls DEL again with no netns
	// and Multus, finding the pod, passes it on. That DEL must leave the
	// running sandbox's router as it is.
	t.Run("sandbox restart", func(t *testing.T) {
		first := lastID(t, operatorLog(), logBefore, "ADD")
		id := first
		for i := 0; i < 2; i++ {
			var pid int
			c.WaitFor(t, "sandbox "+id+" running", func() (err error) {
				pid, err = c.TaskPID(id)
				return err
			})
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			dead := id
			c.WaitFor(t, "a new sandbox", func() error {
				if id = lastID(t, operatorLog(), logBefore, "ADD"); id == dead {
					return fmt.Errorf("no ADD since sandbox %s died", dead)
				}
				return nil
			})
		}
		c.WaitFor(t, "both DELs of the first dead sandbox", func() error {
			with, without := 0, 0
			for _, l := range delLines(operatorLog(), logBefore) {
				if strings.Contains(l, "DEL "+first+" ") {
					if strings.Contains(l, `(netns "")`) {
						without++
					} else {
						with++
					}
				}
			}
			if with != 1 || without < 1 {
				return fmt.Errorf("DELs of %s: %d with its netns, %d without; want 1 and at least 1", first, with, without)
			}
			return nil
		})
		r = c.runningPod(t, "app=egress-router-cni")
		operatorTraffic(t, c, client, r, servers)
	})
	t.Run("delete", func(t *testing.T) {
		current := lastID(t, operatorLog(), logBefore, "ADD")
		if _, err := c.Kubectl("delete", "-n", "egress", "deployment/egress-router-cni-deployment", "service/app-egress"); err != nil {
			t.Fatal(err)
		}
		c.gone(t, "app=egress-router-cni")
		c.WaitFor(t, "DEL of the deleted pod's sandbox", func() error {
			for _, l := range delLines(operatorLog(), logBefore) {
				if strings.Contains(l, "DEL "+current+" ") && !strings.Contains(l, `(netns "")`) {
					return nil
				}
			}
			return fmt.Errorf("no DEL of %s with its netns in %s", current, operatorLog())
		})
		before.Unchanged(t, c.node, "after the router pod was deleted")
	})

	// Both NAD forms give the same router, and both carry traffic.
	states := map[string][]string{}
	for _, form := range []struct{ pod, nad string }{{"single", "egress-router"}, {"conflist", "egress-router-chain"}} {
		t.Run(form.pod, func(t *testing.T) {
			c.Apply(t, testPod(form.pod, form.nad))
			p := c.runningPod(t, "test="+form.pod)
			states[form.pod] = egressState(t, p.netns)
			if got := ask(t, client.netns, "tcp", p.ip+":5000"); got != singleIP {
				t.Errorf("tcp to %s:5000: the server saw %s, want %s", p.ip, got, singleIP)
			}
			if got := ask(t, client.netns, "udp", p.ip+":5001"); got != singleIP {
				t.Errorf("udp to %s:5001: the server saw %s, want %s", p.ip, got, singleIP)
			}
			if _, err := c.Kubectl("delete", "-n", "egress", "pod", form.pod); err != nil {
				t.Fatal(err)
			}
			c.gone(t, "test="+form.pod)
			before.Unchanged(t, c.node, "after pod "+form.pod+" was deleted")
		})
	}
	if s, l := states["single"], states["conflist"]; s != nil && l != nil && !reflect.DeepEqual(s, l) {
		t.Errorf("the two NAD forms differ:\nsingle:   %q\nconflist: %q", s, l)
	}

	// ipConfig through the whole stack: Multus runs egress-router, which
	// reads the pod's address and rules from a ConfigMap with a kubeconfig
	// (the test's admin one stands in for Multus's).
	t.Run("ipConfig", func(t *testing.T) {
		c.Apply(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: router-ip, namespace: egress}
data:
  ip: '{"addresses": ["192.168.12.99/24"], "destinations": ["5000 tcp 192.168.12.91", "5001 udp 192.168.12.91"]}'
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: egress-router-ipconfig, namespace: egress}
spec:
  config: '{"cniVersion": "1.0.0", "type": "egress-router", "name": "egress-router-ipconfig",
    "clusterCIDRs": ["10.128.0.0/14"],
    "ipConfig": {"namespace": "egress", "name": "router-ip", "kubeconfig": %q,
      "overrides": {"addresses": ["192.168.12.99/24"], "gateway": "192.168.12.1"}}}'
`, c.Kubeconfig))
		c.Apply(t, testPod("ipconfig", "egress-router-ipconfig"))
		p := c.runningPod(t, "test=ipconfig")
		if addr := inPod(t, p.netns, "ip", "-o", "-4", "addr", "show", "net1"); !strings.Contains(addr, singleIP+"/24") {
			t.Errorf("net1 from the ConfigMap: %s", addr)
		}
		if got := ask(t, client.netns, "tcp", p.ip+":5000"); got != singleIP {
			t.Errorf("tcp to %s:5000 (a ConfigMap rule): the server saw %s, want %s", p.ip, got, singleIP)
		}
		if got := ask(t, client.netns, "udp", p.ip+":5001"); got != singleIP {
			t.Errorf("udp to %s:5001 (a ConfigMap rule): the server saw %s, want %s", p.ip, got, singleIP)
		}
		if _, err := c.Kubectl("delete", "-n", "egress", "pod", "ipconfig"); err != nil {
			t.Fatal(err)
		}
		c.gone(t, "test=ipconfig")
		before.Unchanged(t, c.node, "after pod ipconfig was deleted")
	})

	// OpenShift's EgressRouter resources on a plain cluster, as a user
	// would apply them: egress-chain render | kubectl apply. Two routers in
	// one namespace, each reached through its own Service's endpoints and
	// each seen outside from its own address.
	t.Run("EgressRouter", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(nstest.BinDir(t), "egress-chain"), "render", "kubernetes/egressrouter.yaml").Output()
		if err != nil {
			t.Fatalf("egress-chain render: %v", err)
		}
		c.Apply(t, string(out))
		type q struct{ proto, port, server string }
		for _, r := range []struct {
			name, ip string
			asks     []q
		}{
			{"egress-router-a", operatorIP, []q{{"tcp", "8080", "tcp 203.0.113.26:80"}, {"tcp", "8443", "tcp 203.0.113.27:443"}, {"udp", "80", "udp 10.0.0.99:80"}}},
			{"egress-router-b", "192.168.3.11", []q{{"tcp", "8080", "tcp 203.0.113.26:80"}}},
		} {
			p := c.runningPod(t, egressrouter.RouterLabel+"="+r.name)
			var ep string
			c.WaitFor(t, "EndpointSlice of "+r.name, func() error {
				out, err := c.Kubectl("get", "endpointslices", "-n", "egress", "-l", "kubernetes.io/service-name="+r.name,
					"-o", `jsonpath={range .items[*]}{.endpoints[*].addresses[*]} {range .ports[*]}{.protocol}/{.port} {end}{end}`)
				if err != nil {
					return err
				}
				f := strings.Fields(out)
				if len(f) != 1+len(r.asks) || f[0] != p.ip {
					return fmt.Errorf("endpoints %q, want the router pod %s and %d ports", out, p.ip, len(r.asks))
				}
				for _, a := range r.asks {
					if !strings.Contains(out, strings.ToUpper(a.proto)+"/"+a.port) {
						return fmt.Errorf("endpoints %q lack %s/%s", out, a.proto, a.port)
					}
				}
				ep = f[0]
				return nil
			})
			for _, a := range r.asks {
				n := len(servers[a.server].Peers())
				if got := ask(t, client.netns, a.proto, ep+":"+a.port); got != r.ip {
					t.Errorf("%s %s:%s (%s): the server saw %s, want %s", a.proto, ep, a.port, r.name, got, r.ip)
				}
				if peers := servers[a.server].Peers(); len(peers) != n+1 {
					t.Errorf("%s %s:%s: %s saw %v, want one more", a.proto, ep, a.port, a.server, peers)
				}
			}
		}
		if out, err := c.Kubectl("delete", "-n", "egress", "deployment/egress-router-a", "deployment/egress-router-b",
			"service/egress-router-a", "service/egress-router-b",
			"network-attachment-definitions.k8s.cni.cncf.io/egress-router-a", "network-attachment-definitions.k8s.cni.cncf.io/egress-router-b"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		c.gone(t, egressrouter.RouterLabel)
		before.Unchanged(t, c.node, "after the rendered routers were deleted")
	})
}

// farSubnet is a second cluster subnet, outside podSubnet and outside
// every NAD's clusterCIDRs, as another node's pods would be.
const farSubnet = "10.130.0.0/24"

// farClient starts a pod whose cluster network (Multus's default-network
// annotation) is ptp on farSubnet: the node routes between it and the
// router's eth0, and the router pod has no route of its own for it.
func (c *cluster) farClient(t *testing.T) pod {
	t.Helper()
	c.Apply(t, `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: far-cluster, namespace: egress}
spec:
  config: '{"cniVersion": "1.0.0", "name": "far-cluster", "plugins": [{"type": "ptp",
    "ipam": {"type": "host-local", "subnet": "`+farSubnet+`", "routes": [{"dst": "0.0.0.0/0"}]}}]}'
---
apiVersion: v1
kind: Pod
metadata:
  name: far
  namespace: egress
  labels: {test: far}
  annotations: {v1.multus-cni.io/default-network: egress/far-cluster}
spec:
  containers: [{name: pause, image: `+fmt.Sprintf("%q", nstest.PauseImage)+`}]
`)
	p := c.runningPod(t, "test=far")
	if _, subnet, _ := net.ParseCIDR(farSubnet); !subnet.Contains(net.ParseIP(p.ip)) {
		t.Fatalf("pod far has %s, want an address in %s", p.ip, farSubnet)
	}
	return p
}

// operatorTraffic sends TCP and UDP from the client pod to the router
// made from nad-operator.yaml: each rule's server sees the reserved address.
func operatorTraffic(t *testing.T, c *cluster, client, r pod, servers map[string]*nstest.Server) {
	t.Helper()
	for _, q := range []struct{ proto, to, server string }{
		{"tcp", r.ip + ":8080", "tcp 203.0.113.26:80"}, // remote port differs
		{"tcp", r.ip + ":8443", "tcp 203.0.113.27:443"},
		{"udp", r.ip + ":80", "udp 10.0.0.99:80"},
	} {
		n := len(servers[q.server].Peers())
		if got := ask(t, client.netns, q.proto, q.to); got != operatorIP {
			t.Errorf("%s %s: the server saw %s, want the reserved %s", q.proto, q.to, got, operatorIP)
		}
		if peers := servers[q.server].Peers(); len(peers) != n+1 || nstest.SourceIP(peers[n]) != operatorIP {
			t.Errorf("%s %s: did not arrive at %s from %s: %v", q.proto, q.to, q.server, operatorIP, peers)
		}
	}
}

// lastID returns the container ID of egress-router's last ADD (or DEL)
// logged after offset.
func lastID(t *testing.T, p string, offset int64, cmd string) string {
	t.Helper()
	id := ""
	for _, l := range logSince(p, offset) {
		if i := strings.Index(l, "egress-router: "+cmd+" "); i >= 0 {
			if f := strings.Fields(l[i:]); len(f) >= 3 {
				id = f[2]
			}
		}
	}
	if id == "" {
		t.Fatalf("no %s in %s", cmd, p)
	}
	return id
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

// logSince returns the lines of a log file written after offset.
func logSince(p string, offset int64) []string {
	b, _ := os.ReadFile(p)
	if offset > 0 && offset <= int64(len(b)) {
		b = b[offset:]
	}
	return strings.Split(string(b), "\n")
}

// delLines returns egress-router's DEL log lines written after offset.
func delLines(p string, offset int64) []string {
	var out []string
	for _, l := range logSince(p, offset) {
		if strings.Contains(l, "DEL ") && strings.Contains(l, ": done") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
