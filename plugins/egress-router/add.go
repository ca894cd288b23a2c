package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/egress-router/egress-router/chain/announce"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
	"github.com/egress-router/egress-router/chain/router"
)

func cmdAdd(args *skel.CmdArgs) error {
	_, c, err := load(args)
	if err != nil {
		return err
	}
	log := openLog(c.Log)
	defer log.Close()
	res, err := add(context.Background(), c, args, log)
	if err != nil {
		log.Errorf("ADD %s %s: %v", args.ContainerID, args.IfName, err)
		return err
	}
	return types.PrintResult(res, c.CNIVersion)
}

// add runs the chain: the interface plugin, then routes, then NAT. A
// failure at any step undoes the steps before it, newest first, so the
// pod is left as it was.
func add(ctx context.Context, c *router.Config, args *skel.CmdArgs, log *logging.Logger) (res *current.Result, err error) {
	var took timings
	if err := c.Resolve(); err != nil {
		return nil, err
	}
	log.Debugf("ADD %s %s: %s (master: %s), addresses %v, gateways %v", args.ContainerID, args.IfName, c.Interface, c.MasterHow, c.Addrs, c.Gateways)
	if len(c.Dropped) > 0 {
		log.Warningf("ADD %s %s: %s: destinations not in ipConfig.overrides.destinations, left out: %q", args.ContainerID, args.IfName, c.Field, c.Dropped)
	}
	sets, err := c.Rules()
	if err != nil {
		return nil, err
	}
	// Refuse before anything runs: the rollback below deletes CNI_IFNAME,
	// which must never hit an interface this ADD did not create.
	if err := ifNameFree(args.Netns, args.IfName); err != nil {
		return nil, err
	}

	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				log.Errorf("ADD %s %s: rollback: %v", args.ContainerID, args.IfName, uerr)
			}
		}
	}()

	ifConf, err := delegateBytes(c.DelegateConf())
	if err != nil {
		return nil, err
	}
	// Whatever the delegate made before failing is its to remove: the spec
	// asks for a DEL of a delegate whose ADD failed. The delegate's DEL can
	// itself fail (macvlan stops at a missing IPAM plugin), so the link,
	// which did not exist before this ADD, is then removed here.
	undo = append(undo, func() error {
		derr := invoke.DelegateDel(ctx, c.Interface.Type, ifConf, nil)
		if lerr := removeLink(args.Netns, args.IfName); lerr != nil {
			return fmt.Errorf("%s DEL: %v; removing %s: %v", c.Interface.Type, derr, args.IfName, lerr)
		}
		return nil
	})
	took.mark("checks")
	r, err := invoke.DelegateAdd(ctx, c.Interface.Type, ifConf, nil)
	took.mark(c.Interface.Type)
	if err != nil {
		return nil, cnierr.Prefix(c.Interface.Type, err)
	}
	if res, err = current.NewResultFromResult(r); err != nil {
		return nil, cnierr.IO("%s returned a result that cannot be converted: %v", c.Interface.Type, err)
	}
	eg, err := egressOf(res, args)
	if err != nil {
		return nil, cnierr.Prefix(c.Interface.Type+" result", err)
	}

	undo = append(undo, func() error { return route.Del(args.Netns) })
	routes, err := route.Add(args.Netns, c.RouteConfig(), eg)
	took.mark("routes")
	if err != nil {
		return nil, cnierr.Prefix("routes", err)
	}
	if len(sets) > 0 {
		undo = append(undo, func() error { return nat.Del(args.Netns, args.IfName) })
		used, err := nat.Add(args.Netns, sets, c.Backend)
		took.mark("nat " + used)
		if err != nil {
			return nil, cnierr.Prefix("nat", err)
		}
		log.Debugf("ADD %s %s: NAT with %s", args.ContainerID, args.IfName, used)
	}
	announceAddrs(args, c.Addrs, log)
	took.mark("announce")
	res.Routes = append(res.Routes, routes...)
	log.Infof("ADD %s %s: %s, %v, %d routes, %d NAT rulesets; %s", args.ContainerID, args.IfName, c.Interface, c.Addrs, len(routes), len(sets), took)
	return res, nil
}

// ifNameFree checks that the pod has no interface called ifName yet.
func ifNameFree(netnsPath, ifName string) error {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error {
		if _, err := netlinksafe.LinkByName(ifName); err == nil {
			return cnierr.Env("CNI_IFNAME %q: the pod already has an interface of that name", ifName)
		}
		return nil
	})
}

// removeLink deletes ifName from the pod if it is there. (netlink
// directly: the plugins' pkg/ip would link knftables and ethtool into the
// binary for this one call, and every ADD pays for a binary's start.)
func removeLink(netnsPath, ifName string) error {
	return ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil
			}
			return err
		}
		return netlink.LinkDel(l)
	})
}

// announceAddrs tells the egress network the reserved addresses are here
// now (they move with the pod). A failure only costs neighbours' cache
// timeouts, so it is logged, not returned.
func announceAddrs(args *skel.CmdArgs, addrs []*net.IPNet, log *logging.Logger) {
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	err := ns.WithNetNSPath(args.Netns, func(ns.NetNS) error { return announce.Send(args.IfName, ips) })
	if err != nil {
		log.Warningf("ADD %s %s: %v", args.ContainerID, args.IfName, fmt.Errorf("announcing %v: %w", ips, err))
	}
}

// timings records how long each step of ADD took, for the log: where an
// attachment's time goes is the first question when pods start slowly.
type timings struct {
	last  time.Time
	steps []string
}

func (t *timings) mark(step string) {
	now := time.Now()
	if t.last.IsZero() {
		t.last = start
	}
	t.steps = append(t.steps, fmt.Sprintf("%s %.1f ms", step, float64(now.Sub(t.last).Microseconds())/1000))
	t.last = now
}

func (t timings) String() string {
	return fmt.Sprintf("%.1f ms since start (%s)", float64(time.Since(start).Microseconds())/1000, strings.Join(t.steps, ", "))
}

// start is when the process began running Go code.
var start = time.Now()
