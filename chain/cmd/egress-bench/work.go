package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/nsutil"
)

// ruleWork times the NAT step alone, in-process, for 1000 per-port rules:
// the work ADD, CHECK and DEL do beyond starting processes.
func ruleWork(o options, prefix string, w io.Writer) error {
	cni := libcni.NewCNIConfigWithCacheDir([]string{o.bin}, "", nil)
	bare := forms(o.backend)[0].list
	rt := &libcni.RuntimeConf{ContainerID: "bench-rules", NetNS: nsutil.Path(prefix + "router"), IfName: "net1"}
	ctx := context.Background()
	if _, err := cni.AddNetworkList(ctx, bare, rt); err != nil {
		return fmt.Errorf("bare ADD for the rule run: %w", err)
	}
	defer cni.DelNetworkList(ctx, bare, rt)
	set, err := dest.Parse("destinations", dests(1000), "", "")
	if err != nil {
		return err
	}
	sets, err := nat.Build(nat.Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: []net.IP{net.ParseIP("192.168.12.99").To4()}, Destinations: set})
	if err != nil {
		return err
	}
	pod, err := netx.OpenPod(rt.NetNS)
	if err != nil {
		return err
	}
	defer pod.Close()
	backend := nat.Backend(o.backend)
	var add, check, del []time.Duration
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		if _, err := nat.Apply(pod, sets, backend); err != nil {
			return fmt.Errorf("nat.Apply: %w", err)
		}
		t1 := time.Now()
		if err := nat.Check(pod, sets, backend); err != nil {
			return fmt.Errorf("nat.Check: %w", err)
		}
		t2 := time.Now()
		if err := nat.Remove(pod, "net1"); err != nil {
			return fmt.Errorf("nat.Remove: %w", err)
		}
		add, check, del = append(add, t1.Sub(t0)), append(check, time.Since(t1)-time.Since(t2)), append(del, time.Since(t2))
	}
	fmt.Fprintf(w, "\nNAT rule work for 1000 per-port rules, in-process (median of 10): install %s, check %s, remove %s\n",
		ms(median(add)), ms(median(check)), ms(median(del)))
	return nil
}

// concurrency attaches n single-plugin routers at once, each in its own
// pod namespace with its own reserved address.
func concurrency(o options, prefix string, cni *libcni.CNIConfig, bareMedian, single time.Duration, w io.Writer) error {
	n := o.concurrent
	if n > 100 {
		return fmt.Errorf("-concurrent %d: at most 100 (addresses 192.168.12.100-199)", n)
	}
	type pod struct {
		name       string
		list, bare *libcni.NetworkConfigList
		rt         *libcni.RuntimeConf
	}
	pods := make([]pod, n)
	defer func() {
		for i, p := range pods {
			if p.name != "" {
				_ = nsutil.IP("", fmt.Sprintf("link del vc%d", i))
				_ = nsutil.Del(p.name)
			}
		}
	}()
	for i := range pods {
		name := fmt.Sprintf("%sc%d", prefix, i)
		if err := nsutil.Add(name); err != nil {
			return err
		}
		pods[i].name = name
		if err := nsutil.IP("", fmt.Sprintf("link add vc%d type veth peer name eth0 netns %s", i, name),
			fmt.Sprintf("link set vc%d master cni0", i), fmt.Sprintf("link set vc%d up", i)); err != nil {
			return err
		}
		if err := nsutil.IP(name, fmt.Sprintf("addr add 10.129.3.%d/23 dev eth0", 10+i), "link set eth0 up",
			"route add default via 10.129.2.1 dev eth0"); err != nil {
			return err
		}
		conf := singleConf(fmt.Sprintf("192.168.12.%d/24", 100+i), 1)
		if o.backend != "" {
			conf["backend"] = o.backend
		}
		pods[i].list = mustList(map[string]any{"cniVersion": "1.1.0", "name": "single", "plugins": []any{conf}})
		pods[i].bare = mustList(map[string]any{"cniVersion": "1.1.0", "name": "bare", "plugins": []any{macvlan(fmt.Sprintf("192.168.12.%d/24", 100+i))}})
		pods[i].rt = &libcni.RuntimeConf{ContainerID: fmt.Sprintf("bench-c%d", i), NetNS: nsutil.Path(name), IfName: "net1"}
	}
	fmt.Fprintln(w)
	// The same burst of bare macvlan + static first: what the machine
	// itself allows n attachments at once.
	for _, run := range []struct {
		name   string
		list   func(i int) *libcni.NetworkConfigList
		single time.Duration
	}{
		{"bare macvlan+static", func(i int) *libcni.NetworkConfigList { return pods[i].bare }, bareMedian},
		{"egress-router (1 destination)", func(i int) *libcni.NetworkConfigList { return pods[i].list }, single},
	} {
		lat := make([]time.Duration, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range pods {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				t0 := time.Now()
				_, errs[i] = cni.AddNetworkList(context.Background(), run.list(i), pods[i].rt)
				lat[i] = time.Since(t0)
			}(i)
		}
		t0 := time.Now()
		close(start)
		wg.Wait()
		wall := time.Since(t0)
		failed := 0
		for i, err := range errs {
			if err != nil {
				failed++
				if failed == 1 {
					fmt.Fprintf(w, "concurrent ADD %d failed: %v\n", i, err)
				}
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Fprintf(w, "%d %s ADDs at once: %d succeeded, median %s, p99 %s (%.1fx its single-ADD median %s), all done in %s\n",
			n, run.name, n-failed, ms(median(lat)), ms(p(lat, 99)), ratio(p(lat, 99), run.single), ms(run.single), ms(wall))
		for i := range pods {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = cni.DelNetworkList(context.Background(), run.list(i), pods[i].rt)
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				return fmt.Errorf("concurrent DEL %d: %w", i, err)
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d concurrent ADDs failed", failed, n)
		}
	}
	return nil
}
