package e2e

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/nsutil"
	"github.com/egress-router/egress-router/chain/testnet"
)

// chaosRounds is how many kill rounds TestKilledAtRandom runs: a few in
// make test, EGRESS_CHAOS_ROUNDS (make chaos: 200) when set.
func chaosRounds(short int) int { return envInt("EGRESS_CHAOS_ROUNDS", short) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// dualStack is a router with both families, port rules and fallbacks:
// routes, rules, NAT, forwarding and a marker for each family.
const dualStack = `{"cniVersion": "1.0.0", "type": "egress-router", "name": "chaos", "interfaceArgs": {"master": "ext0"},
  "ip": {"addresses": ["192.168.12.99/24", "fd00:12::99/64"], "gateway": ["192.168.12.1", "fd00:12::1"],
         "destinations": ["80 tcp 203.0.113.5 8080", "5353 udp 203.0.113.5", "80 tcp fd00:203::5 8080", "192.168.12.91", "fd00:12::91"]},
  "clusterCIDRs": ["10.128.0.0/14", "fd00:100::/24"]}`

// fullState is a pod's network state and forwarding switches.
func fullState(t *testing.T, netns string) nstestState {
	t.Helper()
	return nstestState{snap: nstest.MustTake(t, netns), fwd: run(t, netns, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")}
}

type nstestState struct {
	snap nstest.Snapshot
	fwd  string
}

// diff says how the pod differs from s ("" when it is as it was).
func (s nstestState) diff(t *testing.T, netns string) string {
	now := fullState(t, netns)
	d := nsutil.Snapshot(s.snap).Changes(nsutil.Snapshot(now.snap))
	if now.fwd != s.fwd {
		d += fmt.Sprintf(" | forwarding %q, was %q", strings.Fields(now.fwd), strings.Fields(s.fwd))
	}
	return d
}

// start runs a plugin command the way a runtime does and returns the
// running process.
func start(t *testing.T, c nstest.Call, plugin string, stdin string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", c.RunIn, plugin)
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+c.Command, "CNI_CONTAINERID="+c.ContainerID, "CNI_NETNS="+c.Netns,
		"CNI_IFNAME="+c.IfName, "CNI_ARGS="+c.Args, "CNI_PATH="+c.Path)
	cmd.Stdin = strings.NewReader(stdin)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// descendants lists pid's children, grandchildren and so on.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	frontier := []int{pid}
	for len(frontier) > 0 {
		var next []int
		for p, pp := range parent {
			for _, f := range frontier {
				if pp == f {
					next = append(next, p)
				}
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}

// TestKilledAtRandom: egress-router, or one of the plugins it runs, is
// SIGKILLed at a random moment of ADD, then the runtime's DEL (twice)
// must leave the pod as it was: links (a macvlan under its temporary
// name too), routes, rules, NAT, forwarding. Then the same for a DEL
// killed half-way, followed by another DEL.
func TestKilledAtRandom(t *testing.T) {
	rounds := chaosRounds(10)
	topo := up(t)
	bin := nstest.BinDir(t)
	call := func(cmd string) nstest.Call {
		return nstest.Call{Command: cmd, ContainerID: "chaos", Netns: nstest.Path(topo.Router), IfName: "net1", Path: bin, RunIn: topo.Node}
	}
	plugin := filepath.Join(bin, "egress-router")
	del := func(when string) {
		t.Helper()
		for i := 0; i < 2; i++ {
			out, err := nstest.Run(plugin, call("DEL"), []byte(dualStack))
			if err != nil || out.ExitCode != 0 {
				t.Fatalf("%s: DEL #%d: %v %s %s", when, i+1, err, out.Stdout, out.Stderr)
			}
		}
	}
	before := fullState(t, topo.Router)
	// How long an undisturbed ADD takes: the kills land inside it.
	t0 := time.Now()
	if out, _ := nstest.Run(plugin, call("ADD"), []byte(dualStack)); out.ExitCode != 0 {
		t.Fatalf("ADD: %s %s", out.Stdout, out.Stderr)
	}
	span := time.Since(t0)
	del("after the timing ADD")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for _, phase := range []string{"ADD", "DEL"} {
		counts := map[string]int{}
		for r := 0; r < rounds; r++ {
			if phase == "DEL" {
				if out, _ := nstest.Run(plugin, call("ADD"), []byte(dualStack)); out.ExitCode != 0 {
					t.Fatalf("round %d: ADD: %s", r, out.Stdout)
				}
			}
			cmd, out := start(t, call(phase), plugin, dualStack)
			time.Sleep(time.Duration(rng.Int63n(int64(span) + 1)))
			// The plugin and everything it runs, or only one of its
			// children (the interface plugin or its IPAM) when it has one.
			victims := append([]int{cmd.Process.Pid}, descendants(cmd.Process.Pid)...)
			if len(victims) > 1 && rng.Intn(2) == 0 {
				victims = victims[1+rng.Intn(len(victims)-1):][:1]
				counts["a child killed"]++
			}
			for _, p := range victims {
				syscall.Kill(p, syscall.SIGKILL)
			}
			err := cmd.Wait()
			switch {
			case err == nil:
				counts["finished before the kill"]++
			case cmd.ProcessState.ExitCode() == 1:
				counts["failed with a CNI error"]++
				if !strings.Contains(out.String(), `"code"`) {
					t.Errorf("round %d: %s failed without a CNI error: %s", r, phase, out)
				}
			default:
				counts["killed"]++
			}
			del(fmt.Sprintf("round %d (%s)", r, phase))
			if d := before.diff(t, topo.Router); d != "" {
				counts["left something"]++
				t.Errorf("round %d, %s killed: the pod is not as it was: %s", r, phase, d)
				before = fullState(t, topo.Router)
			} else {
				counts["clean after DEL"]++
			}
		}
		t.Logf("%d rounds of SIGKILL during %s (ADD takes %s here): %s", rounds, phase, span.Round(time.Millisecond), countsText(counts))
	}
}

// TestDelWhateverTheConfig: DEL succeeds when its config does not parse
// (not JSON, no name, a string for the ip object, no ip, an unknown
// version): with no netns, with the netns gone, and with the pod still
// there, where it removes what ADD made.
func TestDelWhateverTheConfig(t *testing.T) {
	topo := up(t)
	bin := nstest.BinDir(t)
	plugin := filepath.Join(bin, "egress-router")
	bad := map[string]string{
		"not JSON":          `{"cniVersion": "1.0.0", "name": `,
		"empty":             ``,
		"no name":           `{"cniVersion": "1.0.0", "type": "egress-router"}`,
		"a string for ip":   `{"cniVersion": "1.0.0", "name": "x", "type": "egress-router", "ip": "192.168.12.99"}`,
		"no ip":             `{"cniVersion": "1.0.0", "name": "x", "type": "egress-router"}`,
		"a future version":  `{"cniVersion": "99.0.0", "name": "x", "type": "egress-router", "ip": {"addresses": ["192.168.12.99/24"]}}`,
		"destinations a 5":  `{"cniVersion": "1.0.0", "name": "x", "type": "egress-router", "ip": {"addresses": ["192.168.12.99/24"], "destinations": 5}}`,
		"an unknown master": `{"cniVersion": "1.0.0", "name": "x", "type": "egress-router", "interfaceArgs": {"master": "nosuch"}, "ip": {"addresses": ["192.168.12.99/24"]}}`,
	}
	var names []string
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	before := fullState(t, topo.Router)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			for _, netns := range []string{"", "/var/run/netns/egress-gone-" + topo.Prefix} {
				c := nstest.Call{Command: "DEL", ContainerID: "bad", Netns: netns, IfName: "net1", Path: bin, RunIn: topo.Node}
				for _, p := range []string{"egress-router", "egress-route", "egress-nat"} {
					if out, err := nstest.Run(filepath.Join(bin, p), c, []byte(bad[name])); err != nil || out.ExitCode != 0 {
						t.Errorf("%s DEL with netns %q: %v %s", p, netns, err, out.Stdout)
					}
				}
			}
			c := nstest.Call{Command: "ADD", ContainerID: "bad", Netns: nstest.Path(topo.Router), IfName: "net1", Path: bin, RunIn: topo.Node}
			if out, _ := nstest.Run(plugin, c, []byte(dualStack)); out.ExitCode != 0 {
				t.Fatalf("ADD: %s", out.Stdout)
			}
			c.Command = "DEL"
			if out, err := nstest.Run(plugin, c, []byte(bad[name])); err != nil || out.ExitCode != 0 {
				t.Errorf("DEL with the pod there: %v %s %s", err, out.Stdout, out.Stderr)
			}
			if d := before.diff(t, topo.Router); d != "" {
				t.Errorf("the pod is not as it was after DEL: %s", d)
				nstest.Run(plugin, c, []byte(dualStack))
			}
		})
	}
}

// TestConcurrency: many routers added and deleted at once, some rounds,
// plus, for each, a DEL arriving while its ADD still runs: every call
// returns, none fails but an ADD overtaken by its DEL (with a CNI
// error), and every pod and the node end as they began.
func TestConcurrency(t *testing.T) {
	n, rounds := envInt("EGRESS_CHAOS_ROUTERS", 8), envInt("EGRESS_CHAOS_CONCURRENT_ROUNDS", 2)
	topo := up(t)
	bin := nstest.BinDir(t)
	plugin := filepath.Join(bin, "egress-router")
	type pod struct {
		name, conf string
		before     nstestState
	}
	pods := make([]pod, n)
	for i := range pods {
		name, err := topo.AddRouter(i)
		if err != nil {
			t.Fatal(err)
		}
		pods[i] = pod{name: name, conf: fmt.Sprintf(`{"cniVersion": "1.0.0", "type": "egress-router", "name": "c%d", "interfaceArgs": {"master": "ext0"},
		  "ip": {"addresses": ["192.168.12.%d/24"], "gateway": "192.168.12.1", "destinations": ["80 tcp 203.0.113.5 8080", "192.168.12.91"]}}`, i, 100+i)}
		pods[i].before = fullState(t, name)
	}
	node := nstest.MustTake(t, topo.Node)
	call := func(cmd string, i int) nstest.Call {
		return nstest.Call{Command: cmd, ContainerID: fmt.Sprintf("c%d", i), Netns: nstest.Path(pods[i].name), IfName: "net1", Path: bin, RunIn: topo.Node, Timeout: 2 * time.Minute}
	}
	each := func(f func(i int)) {
		var wg sync.WaitGroup
		for i := range pods {
			wg.Add(1)
			go func(i int) { defer wg.Done(); f(i) }(i)
		}
		wg.Wait()
	}
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(k string) { mu.Lock(); counts[k]++; mu.Unlock() }
	for r := 0; r < rounds; r++ {
		each(func(i int) {
			out, err := nstest.Run(plugin, call("ADD", i), []byte(pods[i].conf))
			if err != nil || out.ExitCode != 0 || out.TimedOut {
				t.Errorf("round %d: ADD %d: %v %s", r, i, err, out.Stdout)
			}
			count("ADD ok")
		})
		if !t.Failed() {
			each(func(i int) {
				saw, err := nstest.Ask(topo.Client, "tcp", testnet.RouterIP(i)+":80")
				if err == nil && nstest.SourceIP(saw) == fmt.Sprintf("192.168.12.%d", 100+i) {
					count("traffic ok")
				}
			})
		}
		each(func(i int) {
			out, err := nstest.Run(plugin, call("DEL", i), []byte(pods[i].conf))
			if err != nil || out.ExitCode != 0 || out.TimedOut {
				t.Errorf("round %d: DEL %d: %v %s", r, i, err, out.Stdout)
			}
			count("DEL ok")
		})
	}
	// A DEL arriving while the same attachment's ADD still runs.
	each(func(i int) {
		var addOut, delOut nstest.Outcome
		var addDone, delDone time.Time
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			addOut, _ = nstest.Run(plugin, call("ADD", i), []byte(pods[i].conf))
			addDone = time.Now()
		}()
		time.Sleep(time.Duration(5+rand.Intn(30)) * time.Millisecond)
		go func() {
			defer wg.Done()
			delOut, _ = nstest.Run(plugin, call("DEL", i), []byte(pods[i].conf))
			delDone = time.Now()
		}()
		wg.Wait()
		switch {
		case delOut.ExitCode != 0 || delOut.TimedOut:
			t.Errorf("pod %d: the DEL during ADD failed: %s", i, delOut.Stdout)
		case addOut.TimedOut:
			t.Errorf("pod %d: the ADD hung", i)
		case addOut.ExitCode != 0:
			if _, _, ok := addOut.Error(); !ok {
				t.Errorf("pod %d: the ADD failed without a CNI error: %q", i, addOut.Stdout)
			}
			count("ADD refused, DEL ok")
		case delDone.After(addDone):
			count("DEL waited for ADD")
		default:
			// The DEL took the pod's lock first: the ADD came after it,
			// as a runtime's ADD after its DEL would; the pod's next DEL
			// removes it.
			count("DEL before ADD")
			if out, _ := nstest.Run(plugin, call("DEL", i), []byte(pods[i].conf)); out.ExitCode != 0 {
				t.Errorf("pod %d: the last DEL: %s", i, out.Stdout)
			}
		}
	})
	for i := range pods {
		if d := pods[i].before.diff(t, pods[i].name); d != "" {
			t.Errorf("pod %d is not as it began: %s", i, d)
		}
	}
	node.Unchanged(t, topo.Node, "after every router came and went")
	t.Logf("%d routers, %d rounds at once: %s", n, rounds, countsText(counts))
}

// countsText lists the counts in name order, for the report lines.
func countsText(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
