// broken is a chained CNI plugin with deliberate faults, for the
// conformance suite's own tests. Without "break" it is correct: ADD adds
// a route to 198.51.100.0/24 via eth0's gateway in the pod and passes
// prevResult on, CHECK looks for that route, DEL removes it. With an
// "ipam" section it also runs that IPAM plugin on every command, as a
// delegating plugin must (its result is not used). "break" picks one
// fault.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

type conf struct {
	types.NetConf
	Break string `json:"break"`
}

// fault is the build's fault (go build -ldflags -X main.fault=...), for
// calls whose stdin carries no "break": VERSION reads only cniVersion.
var fault string

var dst = &net.IPNet{IP: net.IPv4(198, 51, 100, 0).To4(), Mask: net.CIDRMask(24, 32)}

func route(netns string) (*netlink.Route, error) {
	var r *netlink.Route
	err := ns.WithNetNSPath(netns, func(ns.NetNS) error {
		eth0, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		r = &netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: dst, Gw: net.IPv4(10, 129, 2, 1)}
		return nil
	})
	return r, err
}

func parse(b []byte) (*conf, *current.Result, error) {
	c := &conf{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, nil, err
	}
	if c.RawPrevResult == nil {
		if c.Break == "panic-noprev" {
			var p *current.Result
			_ = p.Interfaces[0] // the fault: no nil check
		}
		return c, nil, nil
	}
	if err := version.ParsePrevResult(&c.NetConf); err != nil {
		return nil, nil, err
	}
	prev, err := current.NewResultFromResult(c.PrevResult)
	return c, prev, err
}

// delegate runs the config's IPAM plugin with broken's own command. The
// fault "delegate-sloppy" breaks section 4 every way at once: the
// delegate gets part of the config and another CNI_CONTAINERID, its
// stderr is dropped, GC is not passed on, a failed ADD is not undone,
// and a failed CHECK or STATUS is not passed on.
func delegate(c *conf, stdin []byte) error {
	if c.IPAM.Type == "" {
		return nil
	}
	ctx := context.Background()
	exec := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}}
	sloppy := c.Break == "delegate-sloppy"
	if sloppy {
		exec.RawExec.Stderr = io.Discard
		var m map[string]json.RawMessage
		_ = json.Unmarshal(stdin, &m)
		stdin, _ = json.Marshal(map[string]json.RawMessage{"cniVersion": m["cniVersion"], "name": m["name"], "ipam": m["ipam"]})
		os.Setenv("CNI_CONTAINERID", "sloppy")
	}
	switch os.Getenv("CNI_COMMAND") {
	case "ADD":
		_, err := invoke.DelegateAdd(ctx, c.IPAM.Type, stdin, exec)
		if err != nil && !sloppy {
			_ = invoke.DelegateDel(ctx, c.IPAM.Type, stdin, exec)
		}
		return err
	case "CHECK":
		if err := invoke.DelegateCheck(ctx, c.IPAM.Type, stdin, exec); err != nil && !sloppy {
			return err
		}
	case "DEL":
		return invoke.DelegateDel(ctx, c.IPAM.Type, stdin, exec)
	case "GC":
		if sloppy {
			return nil
		}
		return invoke.DelegateGC(ctx, c.IPAM.Type, stdin, exec)
	case "STATUS":
		if err := invoke.DelegateStatus(ctx, c.IPAM.Type, stdin, exec); err != nil && !sloppy {
			return err
		}
	}
	return nil
}

// delegated is a command whose only work is the delegate's.
func delegated(args *skel.CmdArgs) error {
	c, _, err := parse(args.StdinData)
	if err != nil {
		return err
	}
	return delegate(c, args.StdinData)
}

func add(args *skel.CmdArgs) error {
	c, prev, err := parse(args.StdinData)
	if err != nil {
		return err
	}
	if err := delegate(c, args.StdinData); err != nil {
		return err
	}
	if prev == nil {
		return fmt.Errorf("prevResult: missing")
	}
	if c.Break == "racy" {
		register(args.ContainerID, true)
	}
	r, err := route(args.Netns)
	if err != nil {
		return err
	}
	if err := ns.WithNetNSPath(args.Netns, func(ns.NetNS) error { return netlink.RouteAdd(r) }); err != nil {
		return err
	}
	if c.Break == "stdout-log" {
		fmt.Println("broken: added the route")
	}
	if c.Break == "drop-prev" {
		prev = &current.Result{CNIVersion: prev.CNIVersion}
	}
	prev.Routes = append(prev.Routes, &types.Route{Dst: *dst, GW: r.Gw})
	return types.PrintResult(prev, c.CNIVersion)
}

func check(args *skel.CmdArgs) error {
	c, prev, err := parse(args.StdinData)
	if err != nil {
		return err
	}
	if c.Break == "check-blind" {
		return nil
	}
	if c.Break == "racy" && !slices.Contains(registered(), args.ContainerID) {
		return fmt.Errorf("container %s is not in the registry", args.ContainerID)
	}
	if c.Break != "delegate-busy" || !busy(args.ContainerID) {
		if err := delegate(c, args.StdinData); err != nil {
			return err
		}
	}
	if c.Break == "check-strict" && prev != nil {
		// The fault: a route a later plugin added is taken for damage.
		for _, r := range prev.Routes {
			if r.Dst.String() != dst.String() {
				return fmt.Errorf("unexpected route %s", r.Dst.String())
			}
		}
	}
	r, err := route(args.Netns)
	if err != nil {
		return err
	}
	return ns.WithNetNSPath(args.Netns, func(ns.NetNS) error {
		have, err := netlink.RouteListFiltered(netlink.FAMILY_V4, r, netlink.RT_FILTER_DST)
		if err != nil || len(have) == 0 {
			return fmt.Errorf("route %s is missing", dst)
		}
		return nil
	})
}

func del(args *skel.CmdArgs) error {
	c, prev, err := parse(args.StdinData)
	if err != nil {
		return err
	}
	if c.Break == "leak" {
		return nil
	}
	if c.Break == "del-needs-prev" && prev == nil {
		return fmt.Errorf("prevResult: missing")
	}
	if c.Break == "racy" {
		register(args.ContainerID, false)
	}
	if err := delegate(c, args.StdinData); err != nil {
		return err
	}
	if args.Netns == "" {
		return nil
	}
	r, err := route(args.Netns)
	if err != nil {
		if c.Break == "del-twice" {
			return err
		}
		return nil
	}
	return ns.WithNetNSPath(args.Netns, func(ns.NetNS) error {
		err := netlink.RouteDel(r)
		if err != nil && c.Break == "hang" {
			// The fault: waiting for a route that is already gone.
			time.Sleep(time.Hour)
		}
		if err != nil && c.Break != "del-twice" {
			return nil
		}
		return err
	})
}

// The fault "racy" keeps a registry of the containers it attached in a
// file beside its binary, shared by every call, and updates it without a
// lock, slowly: two ADDs at once each write what they read, and one
// container is lost. CHECK then misses it.
func registry() string { return filepath.Join(filepath.Dir(os.Args[0]), "registry") }

func registered() []string {
	b, _ := os.ReadFile(registry())
	return strings.Fields(string(b))
}

func register(id string, add bool) {
	ids := slices.DeleteFunc(registered(), func(s string) bool { return s == id })
	if add {
		time.Sleep(300 * time.Millisecond) // the window another call writes in
		ids = append(ids, id)
	}
	_ = os.WriteFile(registry(), []byte(strings.Join(ids, "\n")), 0o644)
}

// The fault "delegate-busy" leaves out the IPAM plugin's CHECK while
// another container's CHECK runs, as a plugin saving work when busy
// might: only calls made at the same time (concurrent/containers) show
// it.
func busy(id string) bool {
	dir := filepath.Dir(os.Args[0])
	mark := filepath.Join(dir, "busy."+id)
	_ = os.WriteFile(mark, nil, 0o644)
	defer os.Remove(mark)
	time.Sleep(300 * time.Millisecond) // the window another CHECK starts in
	all, _ := filepath.Glob(filepath.Join(dir, "busy.*"))
	return len(all) > 1
}

// ipamMain is broken run as an IPAM plugin (under the name brokenipam,
// for the fault "ipam-interfaces"): its ADD result names an interface,
// which no IPAM plugin can know.
func ipamMain(c conf) {
	switch os.Getenv("CNI_COMMAND") {
	case "ADD":
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"cniVersion": c.CNIVersion,
			"interfaces": []any{map[string]any{"name": "eth0"}},
			"ips":        []any{map[string]any{"address": "192.168.12.98/24", "interface": 0}}})
	case "VERSION":
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"cniVersion": c.CNIVersion, "supportedVersions": version.All.SupportedVersions()})
	}
}

func main() {
	runtime.LockOSThread()
	stdin, _ := io.ReadAll(os.Stdin)
	var c conf
	_ = json.Unmarshal(stdin, &c)
	if filepath.Base(os.Args[0]) == "brokenipam" {
		ipamMain(c)
		return
	}
	if c.Break == "" {
		c.Break = fault
	}
	if c.Break == "plain-errors" {
		// The fault: errors as text, not as a CNI error object.
		if os.Getenv("CNI_COMMAND") != "ADD" && os.Getenv("CNI_COMMAND") != "DEL" && os.Getenv("CNI_COMMAND") != "CHECK" &&
			os.Getenv("CNI_COMMAND") != "VERSION" {
			fmt.Println("error: bad command")
			os.Exit(1)
		}
	}
	switch cmd := os.Getenv("CNI_COMMAND"); {
	case cmd == "VERSION" && c.Break != "version-current":
		// skel answers with the newest version it knows; the spec asks
		// for the one on stdin (the fault leaves it to skel).
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"cniVersion": c.CNIVersion, "supportedVersions": version.All.SupportedVersions()})
		return
	case cmd == "FROB" && c.Break == "unknown-ok":
		return // the fault: a command it does not know succeeds
	}
	r, w, _ := os.Pipe()
	go func() { _, _ = io.Copy(w, bytes.NewReader(stdin)); w.Close() }()
	os.Stdin = r
	err := skel.PluginMainFuncsWithError(skel.CNIFuncs{Add: add, Check: check, Del: del,
		GC: delegated, Status: delegated},
		version.All, "")
	if err != nil {
		if c.Break == "vague-env" && err.Code == types.ErrInvalidEnvironmentVariables {
			err.Msg = "bad environment" // the fault: which variable is not said
		}
		if c.Break == "odd-code" && err.Code == types.ErrInternal {
			err.Code = 42 // the fault: a reserved code the spec does not assign
		}
		if c.Break == "plain-errors" {
			fmt.Println("error:", err.Msg)
		} else {
			_ = err.Print()
		}
		os.Exit(1)
	}
}
