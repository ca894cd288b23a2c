package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
)

// journal is what the fakes saw, in order, shared by both. The NAT step
// runs on a goroutine of its own beside the interface plugin.
type journal struct {
	mu    sync.Mutex
	calls []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, s)
}

// fakeExec stands in for the interface plugin binaries, as invoke sees
// them: multus-cni's fakeExec is the model. It answers each CNI_COMMAND
// with a canned stdout or error.
type fakeExec struct {
	version.PluginDecoder
	j       *journal
	missing bool              // FindInPath fails
	out     map[string]string // command -> stdout
	fail    map[string]error  // command -> error
	stdin   map[string][]byte // command -> last stdin seen
}

func (f *fakeExec) FindInPath(plugin string, paths []string) (string, error) {
	if f.missing {
		return "", fmt.Errorf("failed to find plugin %q in path %v", plugin, paths)
	}
	return filepath.Join("/fake", plugin), nil
}

func (f *fakeExec) ExecPlugin(_ context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	cmd := ""
	for _, e := range environ {
		if v, ok := strings.CutPrefix(e, "CNI_COMMAND="); ok {
			cmd = v
		}
	}
	f.j.add(filepath.Base(path) + " " + cmd)
	if f.stdin == nil {
		f.stdin = map[string][]byte{}
	}
	f.stdin[cmd] = stdin
	if err := f.fail[cmd]; err != nil {
		return nil, err
	}
	return []byte(f.out[cmd]), nil
}

// fakeKernel stands in for the pod. Each call is journaled; a call named
// in fail returns that error.
type fakeKernel struct {
	j    *journal
	fail map[string]error
	// hostAddrs records what CheckAddrs was asked to find.
	hostAddrs []string
}

func (k *fakeKernel) do(name string) error {
	k.j.add(name)
	return k.fail[name]
}

func (k *fakeKernel) IfNameFree(_, ifName string) error { return k.do("ifname-free " + ifName) }
func (k *fakeKernel) RemoveLink(_, ifName string) error { return k.do("remove-link " + ifName) }
func (k *fakeKernel) RemoveLeftovers(string) error      { return k.do("remove-leftovers") }
func (k *fakeKernel) CheckAddrs(_, _ string, addrs []*net.IPNet) error {
	for _, a := range addrs {
		k.hostAddrs = append(k.hostAddrs, a.String())
	}
	return k.do("check-addrs")
}
func (k *fakeKernel) AddRoutes(string, route.Plan) ([]*types.Route, error) {
	if err := k.do("add-routes"); err != nil {
		return nil, err
	}
	_, dst, _ := net.ParseCIDR("0.0.0.0/0")
	return []*types.Route{{Dst: *dst, GW: net.ParseIP("192.168.12.1")}}, nil
}
func (k *fakeKernel) CheckRoutes(string, route.Plan) error { return k.do("check-routes") }
func (k *fakeKernel) RemoveRoutes(string, string) error    { return k.do("remove-routes") }
func (k *fakeKernel) AddNAT(string, NAT) (nat.Backend, error) {
	return nat.NFTables, k.do("add-nat")
}
func (k *fakeKernel) CheckNAT(string, NAT) error       { return k.do("check-nat") }
func (k *fakeKernel) RemoveNAT(_, egress string) error { return k.do("remove-nat " + egress) }
func (k *fakeKernel) NATAvailable(b nat.Backend) error { return k.do("nat-available " + string(b)) }
func (k *fakeKernel) Announce(_, _ string, ips []net.IP) error {
	return k.do(fmt.Sprintf("announce %v", ips))
}
func (k *fakeKernel) AwaitAddresses(master string, ips []net.IP, _ time.Duration, _ time.Time) error {
	return k.do(fmt.Sprintf("await %s %v", master, ips))
}

const netns = "/var/run/netns/pod"

func macvlanResult(ifName string) string {
	r := current.Result{CNIVersion: "1.0.0",
		Interfaces: []*current.Interface{{Name: ifName, Sandbox: netns, Mac: "02:00:00:00:00:01"}},
		IPs:        []*current.IPConfig{{Interface: current.Int(0), Address: net.IPNet{IP: net.ParseIP("192.168.12.99").To4(), Mask: net.CIDRMask(24, 32)}, Gateway: net.ParseIP("192.168.12.1")}},
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// routerPlan is what config builds for seed 001: macvlan + static,
// routes, NAT, announcement.
func routerPlan() Plan {
	return Plan{
		Pod:        Pod{ContainerID: "ctr", Netns: netns, IfName: "net1"},
		CNIVersion: "1.0.0",
		Interface: &Interface{Conf: Delegate{CNIVersion: "1.0.0", Name: "er", Type: "macvlan", Master: "ens4", Mode: "bridge",
			IPAM: IPAM{Type: StaticIPAM, Addresses: []StaticAddress{{Address: "192.168.12.99/24", Gateway: "192.168.12.1"}}}}},
		Routes:   &route.Plan{Egress: "net1", Cluster: "eth0", Gateways: []net.IP{net.ParseIP("192.168.12.1").To4()}},
		NAT:      &NAT{Backend: nat.Auto, Sets: []nat.Ruleset{{Family: 4, Cluster: "eth0", Egress: "net1"}}},
		Announce: []net.IP{net.ParseIP("192.168.12.99").To4()},
	}
}

type rig struct {
	j    *journal
	exec *fakeExec
	k    *fakeKernel
	log  *bytes.Buffer
	r    Runner
}

func newRig() *rig {
	j := &journal{}
	rg := &rig{j: j, exec: &fakeExec{j: j, out: map[string]string{"ADD": macvlanResult("net1")}, fail: map[string]error{}},
		k: &fakeKernel{j: j, fail: map[string]error{}}, log: &bytes.Buffer{}}
	rg.r = Runner{Exec: rg.exec, Kernel: rg.k, Log: logging.To(rg.log, "test", logging.Debug)}
	return rg
}

// want checks the calls in order. A call written "~name" runs beside the
// others (see beside): it must come once, after the call before it in
// calls, anywhere among the rest.
func (rg *rig) want(t *testing.T, calls ...string) {
	t.Helper()
	got := rg.j.calls
	var seq, gotSeq []string
	after := map[string]string{} // beside call -> the call it follows
	for i, c := range calls {
		name, isBeside := strings.CutPrefix(c, "~")
		if !isBeside {
			seq = append(seq, c)
			continue
		}
		after[name] = ""
		if i > 0 {
			after[name] = calls[i-1]
		}
	}
	for i, c := range got {
		anchor, isBeside := after[c]
		if !isBeside {
			gotSeq = append(gotSeq, c)
			continue
		}
		if n := count(got, c); n != 1 {
			t.Errorf("calls %q: %q %d times, want once", got, c, n)
		}
		if anchor != "" && !slices.Contains(got[:i], anchor) {
			t.Errorf("calls %q: %q before %q", got, c, anchor)
		}
		delete(after, c)
	}
	for name := range after {
		t.Errorf("calls %q: no %q", got, name)
	}
	if strings.Join(gotSeq, " | ") != strings.Join(seq, " | ") {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, " | "), strings.Join(calls, " | "))
	}
}

func count(list []string, s string) (n int) {
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// before fails unless call a came before call b.
func (rg *rig) before(t *testing.T, a, b string) {
	t.Helper()
	if i, j := slices.Index(rg.j.calls, a), slices.Index(rg.j.calls, b); i < 0 || j < 0 || i > j {
		t.Errorf("calls %q: want %q before %q", rg.j.calls, a, b)
	}
}

func TestAddRunsTheStepsInOrder(t *testing.T) {
	rg := newRig()
	out, err := rg.r.Add(context.Background(), routerPlan())
	if err != nil {
		t.Fatal(err)
	}
	rg.want(t, "ifname-free net1", "~add-nat", "macvlan ADD", "add-routes", "announce [192.168.12.99]")
	// The NAT step is done before the routes go in.
	rg.before(t, "add-nat", "add-routes")
	if len(out.Result.Interfaces) != 1 || len(out.Result.Routes) != 1 || out.Result.Routes[0].GW.String() != "192.168.12.1" {
		t.Errorf("result %+v: want macvlan's interface and our route", out.Result)
	}
	if s := out.Timings.String(); !strings.Contains(s, "checks") || !strings.Contains(s, "macvlan") || !strings.Contains(s, "nat nftables beside") || !strings.Contains(s, "announce") {
		t.Errorf("timings %q", s)
	}
	// The delegate got the standalone config, without CHECK or GC fields.
	var d map[string]any
	if err := json.Unmarshal(rg.exec.stdin["ADD"], &d); err != nil || d["name"] != "er" || d["cniVersion"] != "1.0.0" || d["prevResult"] != nil {
		t.Errorf("delegate stdin %s (%v)", rg.exec.stdin["ADD"], err)
	}
}

// TestAddRollback: whatever step fails, the ones before it are undone,
// newest first, and the error says which step failed, with its code.
func TestAddRollback(t *testing.T) {
	notFound := types.NewError(types.ErrIOFailure, "failed to look up master ens4", "")
	cases := []struct {
		name  string
		setup func(*rig)
		code  uint
		frags []string
		calls []string
	}{
		{name: "the pod already has the interface",
			setup: func(rg *rig) {
				rg.k.fail["ifname-free net1"] = types.NewError(types.ErrInvalidEnvironmentVariables, `CNI_IFNAME "net1": taken`, "")
			},
			code: 4, frags: []string{"CNI_IFNAME"},
			calls: []string{"ifname-free net1"}},
		{name: "interface plugin ADD fails with a CNI error",
			setup: func(rg *rig) { rg.exec.fail["ADD"] = notFound },
			code:  5, frags: []string{"macvlan: failed to look up master ens4"},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "macvlan DEL", "remove-link net1", "remove-leftovers", "remove-nat net1"}},
		{name: "interface plugin not in CNI_PATH",
			setup: func(rg *rig) { rg.exec.missing = true },
			code:  999, frags: []string{"macvlan", "failed to find plugin"},
			calls: []string{"ifname-free net1", "~add-nat", "remove-link net1", "remove-leftovers", "remove-nat net1"}},
		{name: "interface plugin returns no result",
			setup: func(rg *rig) { rg.exec.out["ADD"] = "" },
			code:  999, frags: []string{"macvlan"},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "macvlan DEL", "remove-link net1", "remove-leftovers", "remove-nat net1"}},
		{name: "interface plugin's result lacks the interface",
			setup: func(rg *rig) { rg.exec.out["ADD"] = macvlanResult("eth7") },
			code:  7, frags: []string{"macvlan result: prevResult: no interface \"net1\""},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "macvlan DEL", "remove-link net1", "remove-leftovers", "remove-nat net1"}},
		{name: "routes fail",
			setup: func(rg *rig) { rg.k.fail["add-routes"] = errors.New("file exists") },
			code:  999, frags: []string{"routes: file exists"},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "add-routes", "macvlan DEL", "remove-link net1", "remove-leftovers", "remove-nat net1"}},
		{name: "NAT fails",
			setup: func(rg *rig) {
				rg.k.fail["add-nat"] = types.NewError(types.ErrInvalidNetworkConfig, `interface "eth0" not found`, "")
			},
			code: 7, frags: []string{`nat: interface "eth0" not found`},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "macvlan DEL", "remove-link net1", "remove-leftovers"}},
		{name: "the interface plugin's DEL fails during rollback: the link goes anyway",
			setup: func(rg *rig) {
				rg.k.fail["add-nat"] = errors.New("nftables: no")
				rg.exec.fail["DEL"] = types.NewError(types.ErrIOFailure, "static: gone", "")
			},
			code: 999, frags: []string{"nat: nftables: no"},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "macvlan DEL", "remove-link net1", "remove-leftovers"}},
		{name: "a failed undo does not stop the rollback",
			setup: func(rg *rig) {
				rg.k.fail["add-routes"] = errors.New("file exists")
				rg.k.fail["remove-link net1"] = errors.New("netlink: busy")
			},
			code: 999, frags: []string{"routes: file exists"},
			calls: []string{"ifname-free net1", "~add-nat", "macvlan ADD", "add-routes", "macvlan DEL", "remove-link net1", "remove-nat net1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig()
			c.setup(rg)
			out, err := rg.r.Add(context.Background(), routerPlan())
			if err == nil {
				t.Fatalf("ADD succeeded: %+v", out.Result)
			}
			if c.code == 999 {
				if _, ok := err.(*types.Error); ok {
					t.Errorf("error %v is a CNI error; want a plain one (code 999)", err)
				}
				for _, f := range c.frags {
					if !strings.Contains(err.Error(), f) {
						t.Errorf("error %q lacks %q", err, f)
					}
				}
			} else {
				cnierrtest.Want(t, err, c.code, c.frags...)
			}
			rg.want(t, c.calls...)
			if out.Result != nil {
				t.Errorf("a failed ADD returned a result")
			}
		})
	}
	// Rollback failures are logged, not lost.
	rg := newRig()
	rg.k.fail["add-routes"] = errors.New("file exists")
	rg.k.fail["remove-link net1"] = errors.New("netlink: busy")
	_, _ = rg.r.Add(context.Background(), routerPlan())
	if !strings.Contains(rg.log.String(), "ADD ctr net1: rollback: macvlan DEL: <nil>; removing net1: netlink: busy") {
		t.Errorf("log:\n%s", rg.log)
	}
}

func TestAddAnnounceFailureIsLogged(t *testing.T) {
	rg := newRig()
	rg.k.fail["announce [192.168.12.99]"] = errors.New("packet socket: EPERM")
	if _, err := rg.r.Add(context.Background(), routerPlan()); err != nil {
		t.Fatalf("a failed announcement failed ADD: %v", err)
	}
	if !strings.Contains(rg.log.String(), "announcing [192.168.12.99]: packet socket: EPERM") {
		t.Errorf("log:\n%s", rg.log)
	}
}

// TestChainedPlans: egress-route and egress-nat pass prevResult on (the
// route step's routes added) and their errors name no step: the plugin
// is the step.
func TestChainedPlans(t *testing.T) {
	prev := &current.Result{CNIVersion: "1.0.0", Interfaces: []*current.Interface{{Name: "net1", Sandbox: netns}}}
	p := routerPlan()
	p.Interface, p.Announce, p.Prev = nil, nil, prev
	rg := newRig()
	out, err := rg.r.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	rg.want(t, "add-routes", "add-nat")
	if out.Result == prev || len(out.Result.Routes) != 1 || len(prev.Routes) != 0 {
		t.Errorf("result %+v: want a copy of prevResult with the route added", out.Result)
	}
	rg = newRig()
	rg.k.fail["add-nat"] = errors.New("nftables: no")
	if _, err := rg.r.Add(context.Background(), p); err == nil || err.Error() != "nftables: no" {
		t.Errorf("error %v", err)
	}
	rg.want(t, "add-routes", "add-nat", "remove-routes")
}

func TestCheck(t *testing.T) {
	prev, err := current.NewResultFromResult(mustResult(macvlanResult("net1")))
	if err != nil {
		t.Fatal(err)
	}
	host := &current.IPConfig{Interface: current.Int(0), Address: net.IPNet{IP: net.ParseIP("192.168.12.98").To4(), Mask: net.CIDRMask(32, 32)}}
	prev.IPs = append(prev.IPs, host)
	_, dst, _ := net.ParseCIDR("0.0.0.0/0")
	prev.Routes = []*types.Route{{Dst: *dst}}
	p := routerPlan()
	p.Prev = prev

	rg := newRig()
	if err := rg.r.Check(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	rg.want(t, "check-addrs", "macvlan CHECK", "check-routes", "check-nat")
	// macvlan checks what it made: no routes of ours, no host address
	// (which has no kernel route for it to find); those are checked here.
	var d struct{ PrevResult current.Result }
	if err := json.Unmarshal(rg.exec.stdin["CHECK"], &d); err != nil {
		t.Fatal(err)
	}
	if len(d.PrevResult.Routes) != 0 || len(d.PrevResult.IPs) != 1 || strings.Join(rg.k.hostAddrs, ",") != "192.168.12.98/32" {
		t.Errorf("macvlan's prevResult %+v; host addresses checked here %v", d.PrevResult, rg.k.hostAddrs)
	}

	for _, c := range []struct {
		name  string
		setup func(*rig, *Plan)
		frags []string
		code  uint
		calls []string
	}{
		{"no prevResult", func(_ *rig, p *Plan) { p.Prev = nil }, []string{"prevResult: missing"}, 7, nil},
		{"macvlan CHECK fails", func(rg *rig, _ *Plan) {
			rg.exec.fail["CHECK"] = types.NewError(types.ErrInvalidNetworkConfig, "mode differs", "")
		}, []string{"macvlan check: mode differs"}, 7, []string{"check-addrs", "macvlan CHECK"}},
		{"a host address is gone", func(rg *rig, _ *Plan) { rg.k.fail["check-addrs"] = errors.New("address missing") },
			[]string{"macvlan check: address missing"}, 999, []string{"check-addrs"}},
		{"routes differ", func(rg *rig, _ *Plan) { rg.k.fail["check-routes"] = errors.New("route default is missing") },
			[]string{"routes check: route default is missing"}, 999, []string{"check-addrs", "macvlan CHECK", "check-routes"}},
		{"NAT differs", func(rg *rig, _ *Plan) { rg.k.fail["check-nat"] = errors.New("chain differs") },
			[]string{"nat check: chain differs"}, 999, []string{"check-addrs", "macvlan CHECK", "check-routes", "check-nat"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rg, p := newRig(), p
			c.setup(rg, &p)
			err := rg.r.Check(context.Background(), p)
			if err == nil {
				t.Fatal("CHECK passed")
			}
			if c.code != 999 {
				cnierrtest.Want(t, err, c.code, c.frags...)
			} else if !strings.Contains(err.Error(), c.frags[0]) {
				t.Errorf("error %q lacks %q", err, c.frags[0])
			}
			rg.want(t, c.calls...)
		})
	}
}

func mustResult(s string) types.Result {
	r, err := current.NewResult([]byte(s))
	if err != nil {
		panic(err)
	}
	return r
}

func TestDelRunsEveryStep(t *testing.T) {
	d := routerPlan().Interface.Conf
	td := Teardown{Pod: Pod{ContainerID: "ctr", Netns: netns, IfName: "net1"}, Interface: &d, Routes: true, NAT: true, Leftovers: true}
	rg := newRig()
	tm, err := rg.r.Del(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	rg.want(t, "~remove-nat net1", "remove-routes", "macvlan DEL", "remove-leftovers")
	// The NAT step, beside the others, is done before the leftovers go.
	rg.before(t, "remove-nat net1", "remove-leftovers")
	// The log line says where DEL's time went, step by step.
	if s := tm.String(); !regexp.MustCompile(`^[0-9.]+ ms since start \(checks [0-9.]+ ms, routes [0-9.]+ ms, macvlan [0-9.]+ ms, nat beside [0-9.]+ ms, nat wait [0-9.]+ ms, leftovers [0-9.]+ ms\); cpu [0-9.]+ ms$`).MatchString(s) {
		t.Errorf("DEL timings %q", s)
	}

	rg = newRig()
	rg.k.fail["remove-nat net1"] = types.NewError(types.ErrInvalidEnvironmentVariables, "CNI_NETNS: bad", "")
	rg.exec.fail["DEL"] = types.NewError(types.ErrIOFailure, "static: cannot release", "")
	_, err = rg.r.Del(context.Background(), td)
	te := cnierrtest.Want(t, err, 4, "nat: CNI_NETNS: bad", "macvlan: static: cannot release")
	_ = te
	rg.want(t, "~remove-nat net1", "remove-routes", "macvlan DEL", "remove-leftovers")
	if n := strings.Count(rg.log.String(), "DEL ctr net1: "); n != 2 {
		t.Errorf("%d DEL errors logged, want 2:\n%s", n, rg.log)
	}
	// A chained plugin's teardown: its one step, no step name.
	rg = newRig()
	rg.k.fail["remove-routes"] = errors.New("netlink: busy")
	if _, err := rg.r.Del(context.Background(), Teardown{Pod: td.Pod, Routes: true}); err == nil || err.Error() != "netlink: busy" {
		t.Errorf("chained DEL error %v", err)
	}
	rg.want(t, "remove-routes")
}

func TestStatusAndGC(t *testing.T) {
	d := routerPlan().Interface.Conf
	rg := newRig()
	if err := rg.r.Status(context.Background(), Status{Name: "egress-router", Interface: &d, NAT: true, Backend: nat.Auto}); err != nil {
		t.Fatal(err)
	}
	rg.want(t, "macvlan STATUS", "nat-available auto")

	rg = newRig()
	rg.exec.fail["STATUS"] = types.NewError(types.ErrPluginNotAvailable, "static: not ready", "")
	err := rg.r.Status(context.Background(), Status{Name: "egress-router", Interface: &d, NAT: true})
	cnierrtest.Want(t, err, 50, "macvlan status: static: not ready")
	rg.want(t, "macvlan STATUS")

	rg = newRig()
	rg.k.fail["nat-available iptables"] = errors.New("iptables: not found")
	err = rg.r.Status(context.Background(), Status{Name: "egress-nat", NAT: true, Backend: nat.IPTables})
	cnierrtest.Want(t, err, 50, "egress-nat: iptables: not found")

	rg = newRig()
	valid := json.RawMessage(`[{"containerID":"a","ifname":"net1"}]`)
	if err := rg.r.GC(context.Background(), &d, valid); err != nil {
		t.Fatal(err)
	}
	rg.want(t, "macvlan GC")
	if !bytes.Contains(rg.exec.stdin["GC"], []byte(`"cni.dev/valid-attachments":[{"containerID":"a","ifname":"net1"}]`)) {
		t.Errorf("GC stdin %s", rg.exec.stdin["GC"])
	}
	if err := (Runner{}).GC(context.Background(), nil, valid); err != nil {
		t.Errorf("GC without an interface plugin: %v", err)
	}
}

// With a probe, ADD asks the segment before the interface plugin takes
// the address; a holder that does not let go fails ADD with nothing made.
func TestAddAwaitsTheAddress(t *testing.T) {
	rg := newRig()
	rg.r.Probe, rg.r.Handover = 20*time.Millisecond, time.Second
	out, err := rg.r.Add(context.Background(), routerPlan())
	if err != nil {
		t.Fatal(err)
	}
	rg.want(t, "ifname-free net1", "~add-nat", "await ens4 [192.168.12.99]", "macvlan ADD", "add-routes", "announce [192.168.12.99]")
	if !strings.Contains(out.Timings.String(), "probe") {
		t.Errorf("timings %q: no probe step", out.Timings)
	}

	rg = newRig()
	rg.r.Probe, rg.r.Handover = 20*time.Millisecond, time.Second
	rg.k.fail["await ens4 [192.168.12.99]"] = types.NewError(types.ErrTryAgainLater, "reserved address still held", "")
	_, err = rg.r.Add(context.Background(), routerPlan())
	var te *types.Error
	if !errors.As(err, &te) || te.Code != types.ErrTryAgainLater {
		t.Errorf("err %v: want code 11", err)
	}
	// The NAT, put in while the probe listened, is gone again.
	rg.want(t, "ifname-free net1", "~add-nat", "await ens4 [192.168.12.99]", "remove-nat net1")
}
