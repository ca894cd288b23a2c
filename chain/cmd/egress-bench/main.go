// egress-bench measures what the egress chain costs over bare macvlan +
// static, the way a runtime calls it (libcni, one process per plugin), in
// a test network of namespaces on this host, and prints one table:
// ADD and DEL medians and p90 of each form, interleaved cycle by cycle,
// their ratio to bare, each plugin's peak RSS and the binaries' sizes.
// Then the NAT rule work for 1000 rules in-process, and 64 routers
// attached concurrently.
//
//	egress-bench -bin bin [-cycles 30] [-concurrent 64]
//
// It needs root; everything happens in namespaces it creates and removes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/egress-router/egress-router/chain/nsutil"
	"github.com/egress-router/egress-router/chain/testnet"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "egress-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	bin        string
	cycles     int
	concurrent int
	backend    string
	profile    string
	rulesOnly  bool
	dataPlane  bool
	nodeNAT    bool
}

func run(argv []string, w io.Writer) error {
	fs := flag.NewFlagSet("egress-bench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.bin, "bin", "bin", "folder with our plugins, upstream macvlan/static and cnitool")
	fs.IntVar(&o.cycles, "cycles", 30, "ADD+DEL cycles per form")
	fs.IntVar(&o.concurrent, "concurrent", 64, "routers attached at once in the concurrency run (0: skip)")
	fs.StringVar(&o.backend, "backend", "", "NAT backend for our plugins (iptables, nftables; empty: the default)")
	inNode := fs.String("in-node", "", "internal: the node namespace this process was started in")
	fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the in-process rule work to this file")
	fs.BoolVar(&o.rulesOnly, "rules-only", false, "measure only the in-process rule work")
	fs.BoolVar(&o.dataPlane, "dataplane", true, "measure throughput, new connections and latency through a router (needs iperf3)")
	fs.BoolVar(&o.nodeNAT, "node-nat", true, "hold NAT and filter hooks in the node namespace, as kube-proxy does on every cluster node (false: a node with no NAT anywhere)")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	o.bin = bin
	if *inNode != "" {
		return bench(o, *inNode, w)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (it builds network namespaces)")
	}
	// Build the network, then run the measuring part inside the node
	// namespace, where a runtime runs plugins.
	topo, err := testnet.Up(fmt.Sprintf("eb%d-", os.Getpid()%100000))
	if err != nil {
		return err
	}
	defer topo.Down()
	if o.nodeNAT {
		if err := holdNodeHooks(topo.Node); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"netns", "exec", topo.Node, self, "-in-node", topo.Prefix}, argv...)
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = w, os.Stderr
	return cmd.Run()
}

// nodeHooks are the netfilter hooks kube-proxy's nftables mode holds on
// a cluster node. The kernel turns a hook's code path on when the first
// chain anywhere on the machine uses it and off when the last goes, by
// rewriting kernel text: about 1 ms on this VM. On a cluster node that
// never happens, so the bench's node holds them too (see -node-nat).
const nodeHooks = `table inet egress_bench_node {
	chain nat-pre { type nat hook prerouting priority dstnat; }
	chain nat-out { type nat hook output priority -100; }
	chain nat-post { type nat hook postrouting priority srcnat; }
	chain filter-pre { type filter hook prerouting priority -110; }
	chain filter-in { type filter hook input priority filter; }
	chain filter-fwd { type filter hook forward priority filter; }
	chain filter-out { type filter hook output priority filter; }
}
`

func holdNodeHooks(node string) error {
	cmd := exec.Command("ip", "netns", "exec", node, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(nodeHooks)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("holding the node's netfilter hooks: %v: %s", err, out)
	}
	return nil
}

// form is one way of attaching the router.
type form struct {
	name  string
	dests int
	list  *libcni.NetworkConfigList
	log   string // our plugins' log file (in the bench policy's folder)
}

func dests(n int) []string {
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("%d tcp 203.0.113.%d %d", 10000+i, 1+i%250, 80))
	}
	return out
}

func mustList(v any) *libcni.NetworkConfigList {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	l, err := libcni.ConfListFromBytes(b)
	if err != nil {
		panic(fmt.Sprintf("%v: %s", err, b))
	}
	return l
}

func macvlan(addr string) map[string]any {
	return map[string]any{"type": "macvlan", "master": "ext0", "mode": "bridge",
		"ipam": map[string]any{"type": "static", "addresses": []any{map[string]any{"address": addr, "gateway": "192.168.12.1"}}}}
}

func forms(backend string) []form {
	out := []form{{name: "bare macvlan+static", list: mustList(map[string]any{
		"cniVersion": "1.1.0", "name": "bare", "plugins": []any{macvlan("192.168.12.99/24")}})}}
	for _, n := range []int{1, 16, 1000} {
		chainLog, singleLog := fmt.Sprintf("conflist-%d.log", n), fmt.Sprintf("single-%d.log", n)
		route := logged(map[string]any{"type": "egress-route", "clusterCIDRs": []string{testnet.ClusterCIDR}, "serviceCIDRs": []string{testnet.ServiceCIDR}}, chainLog)
		nat := logged(map[string]any{"type": "egress-nat", "destinations": dests(n)}, chainLog)
		single := logged(singleConf("192.168.12.99/24", n), singleLog)
		if backend != "" {
			nat["backend"], single["backend"] = backend, backend
		}
		out = append(out,
			form{name: "conflist", dests: n, log: chainLog, list: mustList(map[string]any{"cniVersion": "1.1.0", "name": "chain",
				"plugins": []any{macvlan("192.168.12.99/24"), route, nat}})},
			form{name: "egress-router", dests: n, log: singleLog, list: mustList(map[string]any{"cniVersion": "1.1.0", "name": "single",
				"plugins": []any{single}})})
	}
	// With the default backend, the single plugin also runs under
	// iptables in the same cycles, so the two backends are compared
	// within one run (printBackends).
	if backend == "" {
		for _, n := range []int{1, 16} {
			log := fmt.Sprintf("single-iptables-%d.log", n)
			single := logged(singleConf("192.168.12.99/24", n), log)
			single["backend"] = "iptables"
			out = append(out, form{name: iptForm, dests: n, log: log, list: mustList(map[string]any{"cniVersion": "1.1.0", "name": "single",
				"plugins": []any{single}})})
		}
	}
	return out
}

// iptForm names the single plugin's forms under the iptables backend.
const iptForm = "egress-router, iptables"

func singleConf(addr string, n int) map[string]any {
	return map[string]any{"type": "egress-router",
		"ip":            map[string]any{"addresses": []string{addr}, "gateway": "192.168.12.1", "destinations": dests(n)},
		"interfaceArgs": map[string]any{"master": "ext0"},
		"clusterCIDRs":  []string{testnet.ClusterCIDR}, "serviceCIDRs": []string{testnet.ServiceCIDR}}
}

// recorder is libcni's executor for the memory pass: it runs each plugin
// under GNU time and keeps the peak RSS per plugin. A child's ru_maxrss
// would otherwise include the parent's memory (the child is forked from
// this process before it execs the plugin); time is small, so its floor
// (about 2 MiB) stays below any plugin. The timed cycles do not use it.
type recorder struct {
	invoke.RawExec
	version.PluginDecoder
	mu  sync.Mutex
	rss map[string]int64 // plugin name -> max KiB
}

func (r *recorder) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, "/usr/bin/time", "-f", "%M", "-o", "/dev/fd/3", pluginPath)
	cmd.Env = environ
	cmd.Stdin = strings.NewReader(string(stdin))
	cmd.ExtraFiles = []*os.File{pw}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	pw.Close()
	rep, _ := io.ReadAll(pr)
	var kib int64
	if _, serr := fmt.Sscan(strings.TrimSpace(string(rep)), &kib); serr == nil {
		name := filepath.Base(pluginPath)
		r.mu.Lock()
		if kib > r.rss[name] {
			r.rss[name] = kib
		}
		r.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s%s", filepath.Base(pluginPath), err, out.String(), errb.String())
	}
	return []byte(out.String()), nil
}

func bench(o options, prefix string, w io.Writer) error {
	runtime.GOMAXPROCS(runtime.NumCPU())
	if o.rulesOnly {
		return ruleWork(o, prefix, w)
	}
	cache, err := os.MkdirTemp("", "egress-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	if err := logSetup(cache); err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{o.bin}, cache, nil)
	rt := &libcni.RuntimeConf{ContainerID: "bench", NetNS: nsutil.Path(prefix + "router"), IfName: "net1"}
	fs := forms(o.backend)
	adds := make([][]time.Duration, len(fs))
	dels := make([][]time.Duration, len(fs))
	ctx := context.Background()
	var starts []time.Duration
	// One warm-up cycle per form: page cache, first-exec costs.
	for c := -1; c < o.cycles; c++ {
		st, err := processStart(o.bin)
		if err != nil {
			return fmt.Errorf("egress-router VERSION: %w", err)
		}
		if c >= 0 {
			starts = append(starts, st)
		}
		for i, f := range fs {
			t0 := time.Now()
			if _, err := cni.AddNetworkList(ctx, f.list, rt); err != nil {
				return fmt.Errorf("%s ADD: %w", label(f), err)
			}
			t1 := time.Now()
			if err := cni.DelNetworkList(ctx, f.list, rt); err != nil {
				return fmt.Errorf("%s DEL: %w", label(f), err)
			}
			t2 := time.Now()
			if c >= 0 {
				adds[i] = append(adds[i], t1.Sub(t0))
				dels[i] = append(dels[i], t2.Sub(t1))
			}
		}
	}
	bareAdd, bareDel := median(adds[0]), median(dels[0])
	fmt.Fprintf(w, "egress-bench: %d interleaved ADD+DEL cycles per form, libcni in the node namespace, %d CPUs, NAT backend %s\n\n",
		o.cycles, runtime.NumCPU(), backendName(o.backend))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "form\tdestinations\tADD median\tADD p90\tADD/bare\tDEL median\tDEL p90\tDEL/bare\t")
	for i, f := range fs {
		d := "-"
		if f.dests > 0 {
			d = fmt.Sprint(f.dests)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fx\t%s\t%s\t%.2fx\t\n", f.name, d, ms(median(adds[i])), ms(p(adds[i], 90)),
			ratio(median(adds[i]), bareAdd), ms(median(dels[i])), ms(p(dels[i], 90)), ratio(median(dels[i]), bareDel))
	}
	tw.Flush()
	if err := printWork(w, fs, filepath.Join(cache, "log"), starts); err != nil {
		return err
	}
	if err := printBackends(w, fs, filepath.Join(cache, "log")); err != nil {
		return err
	}
	// The floor for the single plugin: bare, plus the one process of ours
	// it cannot do without. What is left over is ours to cut.
	st := median(starts)
	for i, f := range fs {
		if f.name == "egress-router" {
			add, del := median(adds[i]), median(dels[i])
			fmt.Fprintf(w, "egress-router, %d destinations, over bare + one process start: ADD %s = %s + %s + %s, DEL %s = %s + %s + %s\n",
				f.dests, ms(add), ms(bareAdd), ms(st), ms(add-bareAdd-st), ms(del), ms(bareDel), ms(st), ms(del-bareDel-st))
		}
	}

	// The memory pass: one more cycle of each form, under time.
	rec := &recorder{rss: map[string]int64{}}
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		mem := libcni.NewCNIConfigWithCacheDir([]string{o.bin}, cache, rec)
		for _, f := range fs {
			if _, err := mem.AddNetworkList(ctx, f.list, rt); err != nil {
				return fmt.Errorf("%s ADD (memory pass): %w", label(f), err)
			}
			if err := mem.DelNetworkList(ctx, f.list, rt); err != nil {
				return fmt.Errorf("%s DEL (memory pass): %w", label(f), err)
			}
		}
	}
	fmt.Fprintf(w, "\npeak RSS per plugin process (GNU time, max over every form), and binary size\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "plugin\tpeak RSS\tsize\t")
	names := make([]string, 0, len(rec.rss))
	for n := range rec.rss {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		size := "-"
		if st, err := os.Stat(filepath.Join(o.bin, n)); err == nil {
			size = fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%.1f MiB\t%s\t\n", n, float64(rec.rss[n])/1024, size)
	}
	tw.Flush()

	if err := ruleWork(o, prefix, w); err != nil {
		return err
	}
	if o.dataPlane {
		if err := dataPlane(o, prefix, cni, w); err != nil {
			return err
		}
	}
	if o.concurrent > 0 {
		return concurrency(o, prefix, cni, median(adds[0]), median(adds[2]), w)
	}
	return nil
}

func backendName(b string) string {
	if b == "" {
		return "default"
	}
	return b
}

func label(f form) string { return fmt.Sprintf("%s (%d destinations)", f.name, f.dests) }

func median(d []time.Duration) time.Duration { return p(d, 50) }

func p(d []time.Duration, pct int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*pct+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
