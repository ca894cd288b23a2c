package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/netx"
)

// Runner carries out plans. Its zero value runs the interface plugins
// found in CNI_PATH and changes the real pod.
type Runner struct {
	// Exec runs the interface plugin; nil runs the binary from CNI_PATH.
	Exec invoke.Exec
	// Kernel changes the pod; nil is PodKernel with Pods.
	Kernel Kernel
	// Pods are the pod namespaces the command opened, shared by its steps.
	Pods *netx.Pods
	// Log receives rollback failures and debug detail; nil discards.
	Log *logging.Logger
	// Start is when the plugin started, for the step timings.
	Start time.Time
	// Probe is how long ADD listens for another holder of a reserved
	// IPv4 address before the interface plugin takes it (0: it does not
	// ask); Handover is how long it waits for that holder to let go.
	Probe, Handover time.Duration
}

func (r Runner) kernel() Kernel {
	if r.Kernel == nil {
		return PodKernel{Pods: r.Pods}
	}
	return r.Kernel
}

func (r Runner) log() *logging.Logger {
	if r.Log == nil {
		return logging.Discard()
	}
	return r.Log
}

// Outcome is what ADD did: the result to print and how long each step
// took, for the log.
type Outcome struct {
	Result *current.Result
	// Routes counts the routes the route step added.
	Routes  int
	Timings Timings
}

// Add carries out the plan's steps in order: the interface plugin, the
// routes, the NAT, the announcement. When a step fails, the steps before
// it are undone newest first, so the pod is left as it was; a step that
// fails undoes its own part before returning, except the interface
// plugin, whose DEL the spec asks for after a failed ADD.
func (r Runner) Add(ctx context.Context, p Plan) (out Outcome, err error) {
	k, log := r.kernel(), r.log()
	out.Timings = Timings{start: r.Start}
	var res *current.Result
	if p.Prev != nil {
		prev := *p.Prev
		res = &prev
	}
	var undo []func() error
	// natRun is the NAT step beside the interface plugin, natUsed its
	// backend (read after natRun.wait).
	var natRun *beside
	var natUsed nat.Backend
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				log.Errorf("ADD %s %s: rollback: %v", p.Pod.ContainerID, p.Pod.IfName, uerr)
			}
		}
	}()
	step := func(name string, err error) error {
		if p.chain() {
			return cnierr.Prefix(name, err)
		}
		return err
	}

	if p.Interface != nil {
		// Refuse before anything runs: the rollback deletes CNI_IFNAME,
		// which must never hit an interface this ADD did not create.
		if err := k.IfNameFree(p.Pod.Netns, p.Pod.IfName); err != nil {
			return out, err
		}
		typ := p.Interface.Conf.Type
		conf, err := delegateBytes(p.Interface.Conf)
		if err != nil {
			return out, err
		}
		out.Timings.mark("checks")
		// The NAT names the egress link only by name, so it goes in while
		// the probe listens and the interface plugin runs (see beside).
		if p.NAT != nil {
			n := *p.NAT
			natRun = runBeside(func() (err error) {
				natUsed, err = k.AddNAT(p.Pod.Netns, n.beforeEgress())
				return err
			})
			// Registered first, so undone last: after the interface
			// plugin's DEL. A failed NAT step undid its own part.
			undo = append(undo, func() error {
				if natRun.wait() != nil {
					return nil
				}
				return k.RemoveNAT(p.Pod.Netns, p.Pod.IfName)
			})
		}
		// Two pods must never hold a reserved address at once. A
		// Deployment replaces an evicted pod (a drain) while the old one
		// is still being deleted, so the new one waits here until no
		// host on the master's segment answers for the address.
		if r.Probe > 0 && len(p.Announce) > 0 && p.Interface.Conf.Master != "" {
			if err := k.AwaitAddresses(p.Interface.Conf.Master, p.Announce, r.Probe, time.Now().Add(r.Handover)); err != nil {
				return out, err
			}
			out.Timings.mark("probe")
		}
		// Whatever the delegate made before failing is its to remove. Its
		// DEL can itself fail (macvlan stops at a missing IPAM plugin), so
		// the link, which did not exist before this ADD, goes too.
		undo = append(undo, func() error {
			derr := invoke.DelegateDel(ctx, typ, conf, r.Exec)
			if lerr := k.RemoveLink(p.Pod.Netns, p.Pod.IfName); lerr != nil {
				return fmt.Errorf("%s DEL: %v; removing %s: %w", typ, derr, p.Pod.IfName, lerr)
			}
			// A plugin that failed (or was killed) between creating its
			// link and renaming it leaves it under a temporary name.
			return k.RemoveLeftovers(p.Pod.Netns)
		})
		got, err := invoke.DelegateAdd(ctx, typ, conf, r.Exec)
		out.Timings.mark(typ)
		if err != nil {
			return out, cnierr.Prefix(typ, err)
		}
		if res, err = current.NewResultFromResult(got); err != nil {
			return out, cnierr.IO("%s returned a result that cannot be converted: %v", typ, err)
		}
		if _, err := FindEgress(res, p.Pod.Netns, p.Pod.IfName); err != nil {
			return out, cnierr.Prefix(typ+" result", err)
		}
	}
	if p.Interface == nil {
		// A chained plugin: the time up to here is its parsing and checks.
		out.Timings.mark("checks")
	}
	if natRun != nil {
		// Joined before the routes, so a failed NAT undoes less. It is
		// done by now as a rule: the interface plugin takes far longer.
		err := natRun.wait()
		out.Timings.beside("nat "+string(natUsed), natRun.took)
		out.Timings.mark("nat wait")
		if err != nil {
			return out, step("nat", err)
		}
	}
	if p.Routes != nil {
		added, err := k.AddRoutes(p.Pod.Netns, *p.Routes)
		out.Timings.mark("routes")
		if err != nil {
			return out, step("routes", err)
		}
		undo = append(undo, func() error { return k.RemoveRoutes(p.Pod.Netns, p.Pod.IfName) })
		res.Routes = append(res.Routes, added...)
		out.Routes = len(added)
	}
	if p.NAT != nil && natRun == nil {
		used, err := k.AddNAT(p.Pod.Netns, *p.NAT)
		natUsed = used
		out.Timings.mark("nat " + string(used))
		if err != nil {
			return out, step("nat", err)
		}
		undo = append(undo, func() error { return k.RemoveNAT(p.Pod.Netns, p.Pod.IfName) })
	}
	if p.NAT != nil {
		used := natUsed
		for _, rs := range p.NAT.Sets {
			if !log.Debugging() {
				break
			}
			log.Debugf("ADD %s %s: IPv%d rules (%s):\n%s", p.Pod.ContainerID, p.Pod.IfName, rs.Family, used, strings.Join(nat.Describe(used, rs), "\n"))
		}
	}
	if len(p.Announce) > 0 {
		// The addresses move with the pod; a failed announcement only
		// costs neighbours' cache timeouts, so it is logged, not returned.
		if err := k.Announce(p.Pod.Netns, p.Pod.IfName, p.Announce); err != nil {
			log.Warningf("ADD %s %s: announcing %v: %v", p.Pod.ContainerID, p.Pod.IfName, p.Announce, err)
		}
		out.Timings.mark("announce")
	}
	out.Result = res
	return out, nil
}

// delegateBytes encodes an interface plugin config.
func delegateBytes(d Delegate) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, cnierr.IO("failed to encode the %s config: %v", d.Type, err)
	}
	return b, nil
}

// Timings records how long each step of ADD took, for the log: where an
// attachment's time goes is the first question when pods start slowly.
type Timings struct {
	start, last time.Time
	steps       []string
}

func (t *Timings) mark(step string) {
	now := time.Now()
	if t.last.IsZero() {
		t.last = t.start
	}
	if t.last.IsZero() {
		t.last = now
	}
	t.steps = append(t.steps, fmt.Sprintf("%s %.1f ms", step, float64(now.Sub(t.last).Microseconds())/1000))
	t.last = now
}

// beside records a step that ran beside the others (see beside): its
// time is not between two marks.
func (t *Timings) beside(step string, took time.Duration) {
	t.steps = append(t.steps, fmt.Sprintf("%s beside %.1f ms", step, float64(took.Microseconds())/1000))
}

// String gives the time since start, each step's, and the CPU time the
// process has used so far (the Go runtime's start included, the
// interface plugin's process not): what a node starting many pods at
// once pays per attachment.
func (t Timings) String() string {
	return fmt.Sprintf("%.1f ms since start (%s); cpu %.1f ms", float64(time.Since(t.start).Microseconds())/1000, strings.Join(t.steps, ", "),
		float64(cpuTime().Microseconds())/1000)
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
