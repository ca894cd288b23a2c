package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
	"github.com/egress-router/egress-router/chain/router"
)

// cmdCheck checks the interface through the delegate, then our routes and
// NAT, against the ADD result the runtime passes as prevResult.
func cmdCheck(args *skel.CmdArgs) error {
	n, c, err := load(args)
	if err != nil {
		return err
	}
	prev, err := attach.PrevResult(&n.NetConf)
	if err != nil {
		return err
	}
	if prev == nil {
		return cnierr.Config("prevResult: missing; CHECK compares the pod with the ADD result the runtime passes in prevResult")
	}
	if err := c.Resolve(); err != nil {
		return err
	}
	eg, err := egressOf(prev, args)
	if err != nil {
		return err
	}
	var hostAddrs []*net.IPNet
	// The delegate checks what it made: the interface and its addresses.
	// Our routes are checked below by the route step.
	own := *prev
	own.Routes = nil
	// Upstream macvlan/ipvlan CHECK wants a kernel route for each
	// address's prefix, which a host address (/32, /128) never has; those
	// addresses are checked here instead.
	own.IPs, hostAddrs = splitHostAddrs(prev.IPs)
	if err := checkAddrs(args.Netns, args.IfName, hostAddrs); err != nil {
		return cnierr.Prefix(c.Interface.Type+" check", err)
	}
	versioned, err := own.GetAsVersion(c.CNIVersion)
	if err != nil {
		return cnierr.Config("prevResult: cannot convert to version %s: %v", c.CNIVersion, err)
	}
	ic := c.DelegateConf()
	if ic.PrevResult, err = json.Marshal(versioned); err != nil {
		return cnierr.IO("failed to encode prevResult: %v", err)
	}
	b, err := delegateBytes(ic)
	if err != nil {
		return err
	}
	if err := invoke.DelegateCheck(context.Background(), c.Interface.Type, b, nil); err != nil {
		return cnierr.Prefix(c.Interface.Type+" check", err)
	}
	if err := route.Check(args.Netns, c.RouteConfig(), eg); err != nil {
		return cnierr.Prefix("routes check", err)
	}
	sets, err := c.Rules()
	if err != nil {
		return err
	}
	if len(sets) > 0 {
		if err := nat.CheckIn(args.Netns, sets, c.Backend); err != nil {
			return cnierr.Prefix("nat check", err)
		}
	}
	return nil
}

// cmdDel undoes ADD in reverse order. Each step is idempotent and needs
// neither prevResult nor the netns; all steps run even if one fails.
func cmdDel(args *skel.CmdArgs) error {
	n := &router.NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, n); err != nil {
		return err
	}
	log := openLog(n.Settings)
	defer log.Close()
	ic := lenientDelegate(n, args)
	b, err := delegateBytes(ic)
	if err != nil {
		return err
	}
	errs := []error{
		cnierr.Prefix("nat", nat.Del(args.Netns, args.IfName)),
		cnierr.Prefix("routes", route.Del(args.Netns)),
		cnierr.Prefix(ic.Type, invoke.DelegateDel(context.Background(), ic.Type, b, nil)),
	}
	for _, e := range errs {
		if e != nil {
			log.Errorf("DEL %s %s: %v", args.ContainerID, args.IfName, e)
		}
	}
	// Runtimes call DEL more than once (containerd: again with no netns);
	// the netns in the log tells which call this was.
	if firstError(errs) == nil {
		log.Infof("DEL %s %s (netns %q): done", args.ContainerID, args.IfName, args.Netns)
	}
	return firstError(errs)
}

// cmdStatus reports whether ADD can work: the delegate's STATUS (the
// spec asks delegating plugins to forward it), then iptables when NAT is
// configured.
func cmdStatus(args *skel.CmdArgs) error {
	n := &router.NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, n); err != nil {
		return err
	}
	ic := lenientDelegate(n, args)
	b, err := delegateBytes(ic)
	if err != nil {
		return err
	}
	if err := invoke.DelegateStatus(context.Background(), ic.Type, b, nil); err != nil {
		return cnierr.Prefix(ic.Type+" status", err)
	}
	// NAT may be needed: destinations here, or per pod, or in a ConfigMap.
	if n.IP != nil && len(n.IP.Destinations)+len(n.IP.FallbackIP) > 0 || n.PodIP != nil || n.IPConfig != nil {
		if _, err := nat.Available(n.Backend); err != nil {
			return types.NewError(types.ErrPluginNotAvailable, "egress-router: "+err.Error(), "")
		}
	}
	return nil
}

// cmdGC forwards GC to the delegate with the runtime's list of valid
// attachments. Routes and NAT live in the pod's netns and go with it.
func cmdGC(args *skel.CmdArgs) error {
	n := &router.NetConf{}
	if err := cnierr.Unmarshal(args.StdinData, n); err != nil {
		return err
	}
	var raw struct {
		Valid json.RawMessage `json:"cni.dev/valid-attachments"`
	}
	_ = json.Unmarshal(args.StdinData, &raw)
	ic := lenientDelegate(n, args)
	ic.ValidAttachments = raw.Valid
	b, err := delegateBytes(ic)
	if err != nil {
		return err
	}
	return cnierr.Prefix(ic.Type+" gc", invoke.DelegateGC(context.Background(), ic.Type, b, nil))
}

// splitHostAddrs separates the host addresses (full-length prefix).
func splitHostAddrs(ips []*current.IPConfig) (rest []*current.IPConfig, hosts []*net.IPNet) {
	for _, ipc := range ips {
		if ones, bits := ipc.Address.Mask.Size(); ones == bits {
			a := ipc.Address
			hosts = append(hosts, &a)
			continue
		}
		rest = append(rest, ipc)
	}
	return rest, hosts
}

// checkAddrs verifies that the pod's ifName carries each address.
func checkAddrs(netnsPath, ifName string, addrs []*net.IPNet) error {
	if len(addrs) == 0 {
		return nil
	}
	return ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return fmt.Errorf("interface %q not found in the pod: %v", ifName, err)
		}
		have, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("failed to list the addresses of %q: %v", ifName, err)
		}
		for _, a := range addrs {
			found := false
			for _, h := range have {
				found = found || h.IPNet.String() == a.String()
			}
			if !found {
				return fmt.Errorf("address %s is missing from %q", a, ifName)
			}
		}
		return nil
	})
}

// firstError returns the first CNI error, keeping its code, and mentions
// the others.
func firstError(errs []error) error {
	var all []error
	for _, e := range errs {
		if e != nil {
			all = append(all, e)
		}
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	var te *types.Error
	if errors.As(all[0], &te) {
		msg := te.Msg
		for _, e := range all[1:] {
			msg += "; " + e.Error()
		}
		return types.NewError(te.Code, msg, te.Details)
	}
	return errors.Join(all...)
}
