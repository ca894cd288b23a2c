package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/nsutil"
	"github.com/egress-router/egress-router/chain/testnet"
)

// The data plane: what a client feels through the router every day,
// against the same client reaching the same server directly (client →
// node → gateway → server, one namespace hop fewer). The router is the
// single plugin with 1 or with 1000 per-port rules, the measured ports
// among them, under each NAT backend.
const (
	iperfPort = 5201
	echoPort  = 7001
)

// dpRules are a router's destinations: the measured ports first, then
// filler rules to n in all.
func dpRules(n int) []string {
	out := []string{fmt.Sprintf("%d tcp %s", iperfPort, testnet.FarServerIP), fmt.Sprintf("%d tcp %s", echoPort, testnet.FarServerIP)}
	for i := len(out); i < n; i++ {
		out = append(out, fmt.Sprintf("%d tcp 203.0.113.%d 80", 20000+i, 1+i%250))
	}
	return out
}

// dpResult is one path's figures.
type dpResult struct {
	gbits       float64
	connsPerSec float64
	p50, p99    time.Duration
}

// dataPlane measures direct and router paths and prints one table.
func dataPlane(o options, prefix string, cni *libcni.CNIConfig, w io.Writer) error {
	if _, err := exec.LookPath("iperf3"); err != nil {
		fmt.Fprintln(w, "\ndata plane: skipped, iperf3 is not installed (make bench's deps install it)")
		return nil
	}
	client, far := prefix+"client", prefix+"far"
	// The gateway side needs the way back to the client's subnet for the
	// direct path (the router's path comes back to its reserved address).
	if err := nsutil.IP(prefix+"ext", "route add 10.130.0.0/23 via "+testnet.NodeMasterIP); err != nil {
		return err
	}
	stop, err := echoServer(far, net.JoinHostPort(testnet.FarServerIP, fmt.Sprint(echoPort)))
	if err != nil {
		return err
	}
	defer stop()
	direct := testnet.FarServerIP
	routerIP := testnet.RouterPodIP
	type path struct {
		name    string
		backend string // empty: direct
		rules   int
		res     dpResult
		rounds  []dpResult
	}
	paths := []*path{{name: "direct (no router)"}}
	for _, backend := range []string{"nftables", "iptables"} {
		for _, n := range []int{1, 1000} {
			paths = append(paths, &path{name: fmt.Sprintf("router, %s, %d rules", backend, n), backend: backend, rules: n})
		}
	}
	rt := &libcni.RuntimeConf{ContainerID: "bench-dataplane", NetNS: nsutil.Path(prefix + "router"), IfName: "net1"}
	ctx := context.Background()
	// Rounds, the paths interleaved in each: on a VM, throughput and new
	// connections per second drift by 10% or more over a minute, more
	// than the router or 1000 rules cost, so each figure is the median
	// of its path's rounds.
	for round := 0; round < dpRounds; round++ {
		for _, pt := range paths {
			target := direct
			var list *libcni.NetworkConfigList
			if pt.backend != "" {
				conf := singleConf("192.168.12.99/24", 0)
				conf["ip"].(map[string]any)["destinations"] = dpRules(pt.rules)
				conf["backend"] = pt.backend
				list = mustList(map[string]any{"cniVersion": "1.1.0", "name": "dataplane", "plugins": []any{conf}})
				if _, err := cni.AddNetworkList(ctx, list, rt); err != nil {
					return fmt.Errorf("data plane %s ADD: %w", pt.name, err)
				}
				target = routerIP
			}
			err := func() error {
				r, err := measurePath(client, far, target)
				if err != nil {
					return err
				}
				r.connsPerSec, err = connsPerSec(client, target, time.Second)
				pt.rounds = append(pt.rounds, r)
				return err
			}()
			if list != nil {
				if derr := cni.DelNetworkList(ctx, list, rt); derr != nil && err == nil {
					err = derr
				}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", pt.name, err)
			}
		}
	}
	for _, pt := range paths {
		pt.res = medianResult(pt.rounds)
	}
	fmt.Fprintf(w, "\ndata plane: client %s to server %s, direct and through the router (%s)\n", testnet.ClientPodIP, testnet.FarServerIP, routerIP)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tTCP throughput\tvs direct\tnew conns/s\tvs direct\tRR p50\tRR p99\t")
	gbits := func(r dpResult) float64 { return r.gbits }
	conns := func(r dpResult) float64 { return r.connsPerSec }
	for _, pt := range paths {
		r := pt.res
		fmt.Fprintf(tw, "%s\t%.2f Gbit/s\t%.2fx\t%.0f\t%.2fx\t%s\t%s\t\n", pt.name, r.gbits, roundRatio(pt.rounds, paths[0].rounds, gbits),
			r.connsPerSec, roundRatio(pt.rounds, paths[0].rounds, conns), us(r.p50), us(r.p99))
	}
	tw.Flush()
	fmt.Fprintf(w, "new conns/s with 1000 rules against 1 rule: nftables %.2fx, iptables %.2fx\n",
		roundRatio(paths[2].rounds, paths[1].rounds, conns), roundRatio(paths[4].rounds, paths[3].rounds, conns))
	fmt.Fprintf(w, "(each figure the median of %d rounds, the paths interleaved in each, and each ratio the median of the rounds' ratios;"+
		" throughput: iperf3, one TCP stream for %d s;"+
		" new conns/s: connect and close, one at a time, for 1 s; RR: 2000 one-byte round trips on one connection)\n", dpRounds, iperfSeconds)
	return nil
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }

// measurePath measures throughput and latency from the client namespace
// against target (the server itself, or the router that redirects to it).
func measurePath(client, far, target string) (dpResult, error) {
	var r dpResult
	gbits, err := iperf(client, far, target)
	if err != nil {
		return r, err
	}
	r.gbits = gbits
	err = inNS(client, func() error {
		addr := net.JoinHostPort(target, fmt.Sprint(echoPort))
		// Request-response on an established connection.
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		lat := make([]time.Duration, 0, 2000)
		buf := []byte{1}
		for i := 0; i < 2000; i++ {
			t := time.Now()
			if _, err := c.Write(buf); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return err
			}
			lat = append(lat, time.Since(t))
		}
		r.p50, r.p99 = p(lat, 50), p(lat, 99)
		return nil
	})
	return r, err
}

// dpRounds is how many times each path is measured; iperfSeconds is how
// long each round's throughput is.
const (
	dpRounds     = 7
	iperfSeconds = 2
)

// connsPerSec opens and closes connections to target's echo port, one at
// a time, for d. Each is a conntrack entry and a NAT lookup. They close
// with a reset, so that no TIME_WAIT socket holds on to the client's
// ports: tens of thousands per run would otherwise exhaust them and
// measure the port search instead.
func connsPerSec(client, target string, d time.Duration) (float64, error) {
	var rate float64
	err := inNS(client, func() error {
		addr := net.JoinHostPort(target, fmt.Sprint(echoPort))
		n, t0 := 0, time.Now()
		for time.Since(t0) < d {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return fmt.Errorf("connect %s: %w", addr, err)
			}
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
			n++
		}
		rate = float64(n) / time.Since(t0).Seconds()
		return nil
	})
	return rate, err
}

// roundRatio is the median over the rounds of f(a) / f(b) in the same
// round: paths measured seconds apart, so the machine's drift over the
// run cancels out.
func roundRatio(a, b []dpResult, f func(dpResult) float64) float64 {
	var rs []float64
	for i := range a {
		if i < len(b) && f(b[i]) > 0 {
			rs = append(rs, f(a[i])/f(b[i]))
		}
	}
	return medianOf(rs)
}

// medianResult takes each figure's median over a path's rounds.
func medianResult(rs []dpResult) dpResult {
	var gbits, conns, p50, p99 []float64
	for _, r := range rs {
		gbits, conns = append(gbits, r.gbits), append(conns, r.connsPerSec)
		p50, p99 = append(p50, float64(r.p50)), append(p99, float64(r.p99))
	}
	return dpResult{gbits: medianOf(gbits), connsPerSec: medianOf(conns), p50: time.Duration(medianOf(p50)), p99: time.Duration(medianOf(p99))}
}

func medianOf(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// iperf runs a one-off iperf3 server in far and a client of iperfSeconds
// in client against target, and returns what the server received.
func iperf(client, far, target string) (float64, error) {
	srv := exec.Command("ip", "netns", "exec", far, "iperf3", "-s", "-1", "-B", testnet.FarServerIP, "-p", fmt.Sprint(iperfPort))
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	type report struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	var out []byte
	var err error
	for try := 0; try < 50; try++ { // until the server listens
		var rep report
		out, err = exec.Command("ip", "netns", "exec", client, "iperf3", "-c", target, "-p", fmt.Sprint(iperfPort), "-t", fmt.Sprint(iperfSeconds), "-J").Output()
		if err == nil {
			if err = json.Unmarshal(out, &rep); err == nil && rep.Error != "" {
				err = fmt.Errorf("%s", rep.Error)
			}
		}
		if err == nil && rep.End.SumReceived.BitsPerSecond > 0 {
			return rep.End.SumReceived.BitsPerSecond / 1e9, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("iperf3 to %s: %v: %.200s", target, err, out)
}

// echoServer answers every byte with itself, in namespace name.
func echoServer(name, addr string) (stop func(), err error) {
	var l net.Listener
	if err := inNS(name, func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return func() { l.Close(); wg.Wait() }, nil
}

// inNS runs f on a thread in namespace name.
func inNS(name string, f func() error) error {
	n, err := ns.GetNS(nsutil.Path(name))
	if err != nil {
		return err
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error { return f() })
}
