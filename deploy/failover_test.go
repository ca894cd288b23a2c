package deploy_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/nsutil"
)

// The two-node cluster: a control plane in a namespace of its own and two
// nodes whose masters share the external segment (a bridge in ext) with
// the gateway and the servers.
const (
	controlIP = "192.168.12.5"
	quietIP   = "192.168.3.11" // the second router's: the gateway never hears its announcements
	// nodeGrace is the controller manager's --node-monitor-grace-period
	// here; router.yaml's tolerations add their 10 s to it.
	nodeGrace = "8s"
)

var twoNodes = []struct{ name, ip, site, podSubnet string }{
	{"egress-a", "192.168.12.2", "192.168.3.2/24", "10.128.1.0/24"},
	{"egress-b", "192.168.12.3", "192.168.3.3/24", "10.128.2.0/24"},
}

// startTwoNodes builds the namespaces and starts the cluster, with the
// plugins installed on both nodes by the installer DaemonSet and deploy/'s
// NADs applied.
func startTwoNodes(t *testing.T) *cluster {
	t.Helper()
	bin := nstest.BinDir(t)
	prefix := fmt.Sprintf("k2n%d-", os.Getpid()%100000)
	cp, ext := prefix+"cp", prefix+"ext"
	names := []string{cp, ext}
	for i := range twoNodes {
		names = append(names, fmt.Sprintf("%sn%d", prefix, i))
	}
	c := &cluster{node: names[2], ext: ext}
	makeNamespaces(t, names...)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nsutil.IP(ext, "link add br0 type bridge", "link set br0 up",
		"addr add 192.168.12.1/24 dev br0", "addr add 192.168.12.91/24 dev br0", "addr add 192.168.3.1/24 dev br0",
		"addr add 203.0.113.26/32 dev lo", "addr add 203.0.113.27/32 dev lo", "addr add 10.0.0.99/32 dev lo"))
	plug := func(netns, ifName, peer string, addrs ...string) {
		cmds := []string{"link add " + ifName + " type veth peer name " + peer + " netns " + ext}
		for _, a := range addrs {
			cmds = append(cmds, "addr add "+a+" dev "+ifName)
		}
		must(nsutil.IP(netns, append(cmds, "link set "+ifName+" up")...))
		must(nsutil.IP(ext, "link set "+peer+" master br0", "link set "+peer+" up"))
	}
	plug(cp, "eth0", "ecp", controlIP+"/24")
	for i, n := range twoNodes {
		plug(names[2+i], "ens4", fmt.Sprintf("e%d", i), n.ip+"/24", n.site)
		// Each node routes the other's pods through it.
		other := twoNodes[1-i]
		must(nsutil.IP(names[2+i], "route add "+other.podSubnet+" via "+other.ip))
	}
	control := nstest.StartControlPlane(t, cp, controlIP, "--node-monitor-grace-period="+nodeGrace, "--node-monitor-period=1s")
	// Leases renewed every 2 s: the grace period must outlast a few.
	kubelet := "nodeStatusUpdateFrequency: 2s\nnodeLeaseDurationSeconds: 8"
	for i, n := range twoNodes {
		c.nodes = append(c.nodes, control.StartNode(t, nstest.NodeSpec{Netns: names[2+i], Name: n.name, IP: n.ip,
			PodSubnet: n.podSubnet, CNIBin: bin, Kubelet: kubelet}))
	}
	c.KubeNode = c.nodes[0]
	// Services: the client reaches the router through its cluster IP,
	// which kube-proxy on the client's node sends to wherever it runs.
	for _, n := range c.nodes {
		n.StartProxy(t, "10.128.0.0/14")
	}
	c.applyCRD(t)
	c.install(t, bin)
	c.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: egress}\n")
	nad, err := os.ReadFile("kubernetes/nad-operator.yaml")
	must(err)
	c.Apply(t, string(nad))
	c.Apply(t, strings.NewReplacer("egress-router-cni-nad", "quiet-nad", operatorIP+"/24", quietIP+"/24",
		"/tmp/egress-router-log", "/tmp/quiet-router-log").Replace(string(nad)))
	c.WaitFor(t, "ServiceAccount egress/default", func() error {
		_, err := c.Kubectl("get", "-n", "egress", "serviceaccount", "default")
		return err
	})
	return c
}

// TestTwoNodes runs the router Deployment on one node of two, has a
// client on the other node send through it, and then makes the router's
// node fail: Kubernetes replaces the router on the other node with the
// same reserved address. It times the downtime and splits it. The gateway
// drops the second router's announcements, so the same run shows how long
// the gateway keeps sending to the old MAC without them.
func TestTwoNodes(t *testing.T) {
	c := startTwoNodes(t)
	servers := map[string]*nstest.Server{}
	for _, addr := range []string{"203.0.113.26:80", "203.0.113.27:443"} {
		srv, err := nstest.Serve(c.ext, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		servers[addr] = srv
	}
	router, err := os.ReadFile("kubernetes/router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	deployment := strings.Split(string(router), "\n---\n")[0]
	quiet := strings.NewReplacer("egress-router-cni-deployment", "quiet-router", "app: egress-router-cni", "app: quiet-router",
		"egress-router-cni-nad", "quiet-nad").Replace(deployment)
	// Both routers on the first node: the second is cordoned meanwhile.
	a, b := c.nodes[0], c.nodes[1]
	kubectl(t, c, "cordon", b.Name)
	c.Apply(t, string(router))
	c.Apply(t, quiet)
	r := c.runningPod(t, "app=egress-router-cni")
	q := c.runningPod(t, "app=quiet-router")
	kubectl(t, c, "uncordon", b.Name)
	if r.node != a.Name || q.node != a.Name {
		t.Fatalf("routers on %s and %s, want both on %s", r.node, q.node, a.Name)
	}
	c.Apply(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: client, namespace: egress, labels: {test: client}}
spec:
  nodeName: %s
  containers: [{name: pause, image: %q}]
`, b.Name, nstest.PauseImage))
	client := c.runningPod(t, "test=client")

	svc := serviceIP(t, c)
	t.Run("across nodes", func(t *testing.T) {
		if got := ask(t, client.netns, "tcp", r.ip+":8080"); got != operatorIP {
			t.Errorf("a client on %s through the router pod on %s: the server saw %s, want %s", b.Name, a.Name, got, operatorIP)
		}
		// kube-proxy programs the Service a moment after its endpoint.
		c.WaitFor(t, "the Service's cluster IP "+svc, func() error {
			saw, err := nstest.Ask(client.netns, "tcp", net.JoinHostPort(svc, "8080"))
			if err != nil || nstest.SourceIP(saw) != operatorIP {
				return fmt.Errorf("through %s: saw %q, %v", svc, saw, err)
			}
			return nil
		})
	})
	if t.Failed() {
		return
	}
	t.Run("drain", func(t *testing.T) { r, q = drain(t, c, r, q) })
	if t.Failed() {
		return
	}
	t.Run("failover", func(t *testing.T) { failover(t, c, client, svc, r) })
}

// serviceIP is router.yaml's Service's cluster IP.
func serviceIP(t *testing.T, c *cluster) string {
	t.Helper()
	out, err := c.Kubectl("get", "service", "-n", "egress", "app-egress", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil || net.ParseIP(out) == nil {
		t.Fatalf("the router's Service has no cluster IP: %q %v", out, err)
	}
	return out
}

// drain moves the routers off their node as an admin would
// (kubectl drain) and measures whether the old and the new router pod
// held the reserved address at the same time: from the new pod's ADD to
// the old pod's DEL, both from the plugin's log. Then it moves them back,
// for the failover, and returns them.
func drain(t *testing.T, c *cluster, r, q pod) (pod, pod) {
	a, b := c.onNode(r.node), c.nodes[1]
	log := operatorLog()
	old := lastID(t, log, 0, "ADD")
	offset := fileSize(log)
	start := time.Now()
	kubectl(t, c, "drain", a.Name, "--ignore-daemonsets", "--timeout=90s")
	nr := c.runningPod(t, "app=egress-router-cni")
	if nr.node != b.Name {
		t.Errorf("the drained router came back on %s, want %s", nr.node, b.Name)
	}
	// The old pod let go of the address when its interface plugin's DEL
	// removed the link: the DEL's start plus its steps up to that one.
	var released time.Duration
	var delLine string
	c.WaitFor(t, "the old router's DEL", func() error {
		for _, l := range delLines(log, offset) {
			if !strings.Contains(l, "DEL "+old+" ") {
				continue
			}
			m := timedLine.FindStringSubmatch(l)
			if m == nil {
				return fmt.Errorf("DEL line without timings: %s", l)
			}
			ts, err := time.Parse(time.RFC3339Nano, strings.Fields(l)[0])
			total, err2 := strconv.ParseFloat(m[1], 64)
			if err != nil || err2 != nil {
				return fmt.Errorf("DEL line %q: %v %v", l, err, err2)
			}
			_, end, ok := span(m[2], "macvlan")
			if !ok {
				return fmt.Errorf("DEL line without a macvlan step: %s", l)
			}
			released = ts.Sub(start) - time.Duration(total*float64(time.Millisecond)) + end
			delLine = l
			return nil
		}
		return fmt.Errorf("no DEL of %s yet", old)
	})
	began, claimed, ended, ok := lastADD(log, offset, start)
	if !ok {
		t.Fatal("no ADD of the new router logged")
	}
	t.Logf("drain of %s, against its start: the old router let go of the address at %.3f s; the new router's ADD began at %.3f s, "+
		"took the address at %.3f s and ended at %.3f s", a.Name, released.Seconds(), began.Seconds(), claimed.Seconds(), ended.Seconds())
	if claimed < released {
		t.Errorf("the new router pod took the reserved address %.0f ms before the old one let it go; the old pod's DEL: %s", (released-claimed).Seconds()*1000, delLine)
	}
	// Back to the first node for the failover.
	kubectl(t, c, "uncordon", a.Name)
	kubectl(t, c, "cordon", b.Name)
	kubectl(t, c, "delete", "pod", "-n", "egress", "-l", "app in (egress-router-cni, quiet-router)", "--wait=false")
	c.WaitFor(t, "routers back on "+a.Name, func() error {
		out, err := c.Kubectl("get", "pod", "-n", "egress", "-l", "app in (egress-router-cni, quiet-router)", "-o",
			`jsonpath={range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil || strings.TrimSpace(out) != a.Name+" True\n"+a.Name+" True" {
			return fmt.Errorf("routers: %q (%v)", out, err)
		}
		return nil
	})
	kubectl(t, c, "uncordon", b.Name)
	return c.runningPod(t, "app=egress-router-cni"), c.runningPod(t, "app=quiet-router")
}

// timeline records when things were first seen, against the failure.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	at    map[string]time.Duration
}

func (tl *timeline) mark(what string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if _, ok := tl.at[what]; !ok {
		tl.at[what] = time.Since(tl.start)
	}
}

func (tl *timeline) get(what string) (time.Duration, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	d, ok := tl.at[what]
	return d, ok
}

// failover makes the routers' node fail and waits until the router works
// again from the other node, recording each step.
func failover(t *testing.T, c *cluster, client pod, svc string, r pod) {
	a := c.onNode(r.node)
	ext, err := ns.GetNS(nstest.Path(c.ext))
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	// The gateway drops every announcement of the quiet router's address:
	// a gratuitous ARP has the address as sender and as target.
	if _, err := nstest.InNS(c.ext, "nft", "add table arp drop-quiet ; add chain arp drop-quiet in { type filter hook input priority 0 ; } ; "+
		"add rule arp drop-quiet in arp saddr ip "+quietIP+" arp daddr ip "+quietIP+" drop"); err != nil {
		t.Fatal(err)
	}
	// The gateway knows both addresses at the first node's MACs.
	for _, ip := range []string{operatorIP, quietIP} {
		if !reachable(ext, ip) {
			t.Fatalf("the gateway cannot reach %s before the failure", ip)
		}
	}
	opLog := operatorLog()
	opOffset := fileSize(opLog)

	tl := &timeline{at: map[string]time.Duration{}}
	// The failure: the node's kubelet and containerd die and its links
	// go down; the pods on it live on, cut off.
	tl.start = time.Now()
	a.Fail()
	if err := nsutil.IP(a.NodeNetns(), "link set ens4 down"); err != nil {
		t.Error(err)
	}
	// From here on the old pods are cut off: every answer the samplers
	// get comes from the new ones.
	done := make(chan struct{})
	var wg sync.WaitGroup
	conns, failed := 0, 0
	// The client: a new connection through the router's Service every
	// 100 ms.
	cn, err := ns.GetNS(client.netns)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	every(&wg, done, 100*time.Millisecond, func() {
		saw, err := quickAsk(cn, net.JoinHostPort(svc, "8080"))
		conns++
		if err != nil || nstest.SourceIP(saw) != operatorIP {
			failed++
		} else {
			tl.mark("client through the Service again")
		}
	})
	// The gateway: does it reach each reserved address at its new MAC?
	every(&wg, done, 50*time.Millisecond, func() {
		for _, ip := range []string{operatorIP, quietIP} {
			if reachable(ext, ip) {
				tl.mark("gateway reaches " + ip)
			}
		}
	})
	// The control plane, as kubectl sees it.
	every(&wg, done, 200*time.Millisecond, func() {
		if out, err := c.Kubectl("get", "node", a.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); err == nil && out != "True" {
			tl.mark("node not ready")
		}
		out, err := c.Kubectl("get", "pod", "-n", "egress", "-l", "app=egress-router-cni", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			// name node [deletionTimestamp] [podIP] [Ready]: a timestamp
			// has a T, an address does not.
			f := strings.Fields(l)
			switch {
			case len(f) >= 3 && f[0] == r.name && strings.Contains(f[2], "T"):
				tl.mark("old router pod evicted")
			case len(f) >= 2 && f[0] != r.name:
				tl.mark("new router pod scheduled")
				if len(f) == 4 && f[3] == "True" {
					tl.mark("new router pod ready")
				}
			}
		}
	})

	deadline := time.Now().Add(150 * time.Second)
	for time.Now().Before(deadline) {
		_, ok1 := tl.get("client through the Service again")
		_, ok2 := tl.get("gateway reaches " + operatorIP)
		_, ok3 := tl.get("gateway reaches " + quietIP)
		if ok1 && ok2 && ok3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(done)
	wg.Wait()

	// Our ADD on the new node, from the plugin's log line.
	addStart, _, addEnd, ok := lastADD(opLog, opOffset, tl.start)
	if ok {
		tl.mu.Lock()
		tl.at["ADD started"], tl.at["ADD done"] = addStart, addEnd
		tl.mu.Unlock()
	}
	steps := []string{"node not ready", "old router pod evicted", "new router pod scheduled", "ADD started", "ADD done",
		"gateway reaches " + operatorIP, "new router pod ready", "client through the Service again", "gateway reaches " + quietIP}
	var report []string
	for _, s := range steps {
		d, ok := tl.get(s)
		if !ok {
			t.Errorf("never seen: %s", s)
			report = append(report, fmt.Sprintf("%-40s never", s))
			continue
		}
		report = append(report, fmt.Sprintf("%-40s %6.1f s", s, d.Seconds()))
	}
	t.Logf("failover of the router from %s (%d connections every 100 ms, %d failed):\n%s", a.Name, conns, failed, strings.Join(report, "\n"))
	if d, ok := tl.get("client through the Service again"); ok && d > 60*time.Second {
		t.Errorf("downtime %v: more than the grace period and tolerations allow", d)
	}
	announced, ok1 := tl.get("gateway reaches " + operatorIP)
	done2, ok2 := tl.get("ADD done")
	if ok1 && ok2 && announced-done2 > 2*time.Second {
		t.Errorf("the gateway reached the announced address %v after the ADD: the announcement did not move it", announced-done2)
	}
}

// every runs f every d on a goroutine of its own until done closes.
func every(wg *sync.WaitGroup, done <-chan struct{}, d time.Duration, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(d):
			}
			f()
		}
	}()
}

func kubectl(t *testing.T, c *cluster, args ...string) {
	t.Helper()
	if out, err := c.Kubectl(args...); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

// quickAsk is nstest.Ask with a short deadline, for sampling an outage.
func quickAsk(n ns.NetNS, addr string) (string, error) {
	var c net.Conn
	err := n.Do(func(ns.NetNS) (err error) {
		c, err = net.DialTimeout("tcp", addr, 300*time.Millisecond)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// reachable reports whether ip answers from the gateway's namespace: a
// refused connection is an answer (the router pod's kernel resets a port
// nothing listens on), a timeout is not.
func reachable(ext ns.NetNS, ip string) bool {
	var err error
	_ = ext.Do(func(ns.NetNS) error {
		var c net.Conn
		c, err = net.DialTimeout("tcp", net.JoinHostPort(ip, "9"), 40*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return nil
	})
	return err == nil || errors.Is(err, syscall.ECONNREFUSED)
}

var (
	addLine = regexp.MustCompile(`^(\S+) \[info\] egress-router: ADD \S+ net1: .*; ([0-9.]+) ms since start \(([^)]*)\)`)
)

// timedLine is a logged ADD's or DEL's total and its step list.
var timedLine = regexp.MustCompile(`; ([0-9.]+) ms since start \(([^)]*)\)`)

// span finds when the step named name began and ended, from the start of
// the call, in a logged step list. A step that ran beside the others
// ("nat beside 2.8 ms") is within their time and is left out.
func span(list, name string) (from, to time.Duration, ok bool) {
	var at time.Duration
	for _, s := range strings.Split(list, ", ") {
		s = strings.TrimSuffix(s, " ms")
		i := strings.LastIndex(s, " ")
		if i < 0 {
			continue
		}
		ms, err := strconv.ParseFloat(s[i+1:], 64)
		if err != nil || strings.HasSuffix(s[:i], " beside") {
			continue
		}
		d := time.Duration(ms * float64(time.Millisecond))
		if s[:i] == name {
			return at, at + d, true
		}
		at += d
	}
	return 0, 0, false
}

// lastADD finds egress-router's last ADD logged after offset and returns
// when it started, when the interface plugin was started on the address
// (after the checks and the probe) and when it ended, against start.
func lastADD(p string, offset int64, start time.Time) (began, claimed, ended time.Duration, found bool) {
	for _, l := range logSince(p, offset) {
		m := addLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		end, err := time.Parse(time.RFC3339Nano, m[1])
		ms, err2 := strconv.ParseFloat(m[2], 64)
		if err != nil || err2 != nil {
			continue
		}
		ended = end.Sub(start)
		began = ended - time.Duration(ms*float64(time.Millisecond))
		// The interface plugin's step is where it takes the address.
		from, _, _ := span(m[3], "macvlan")
		claimed = began + from
		found = true
	}
	return began, claimed, ended, found
}

// TestSpan: the drain measures the handover from the logged steps; a
// step that ran beside the others must not shift the ones after it.
func TestSpan(t *testing.T) {
	del := "checks 1.3 ms, routes 1.3 ms, macvlan 36.0 ms, nat beside 4.0 ms, nat wait 0.5 ms, leftovers 0.2 ms"
	if from, to, ok := span(del, "macvlan"); !ok || from != 2600*time.Microsecond || to != 38600*time.Microsecond {
		t.Errorf("DEL macvlan: %v %v %v", from, to, ok)
	}
	add := "checks 2.4 ms, probe 20.5 ms, macvlan 23.8 ms, nat nftables beside 3.0 ms, nat wait 0.0 ms, routes 0.6 ms"
	if from, _, ok := span(add, "macvlan"); !ok || from != 22900*time.Microsecond {
		t.Errorf("ADD macvlan from %v %v", from, ok)
	}
	if _, _, ok := span(add, "ipvlan"); ok {
		t.Error("found a step the list does not have")
	}
}
