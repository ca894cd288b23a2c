package plan

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/egress-router/egress-router/chain/announce"
	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/netx"
	"github.com/egress-router/egress-router/chain/route"
)

// Kernel is what the runner changes in the pod itself, beside running the
// interface plugin. The real one (PodKernel) works through route, nat and
// announce; tests of the runner's ordering use a fake.
type Kernel interface {
	// IfNameFree fails when the pod already has an interface ifName.
	IfNameFree(netns, ifName string) error
	// RemoveLink deletes ifName from the pod if it is there.
	RemoveLink(netns, ifName string) error
	// RemoveLeftovers deletes the links an interface plugin killed
	// half-way left in the pod under its temporary name.
	RemoveLeftovers(netns string) error
	// CheckAddrs verifies that ifName carries each address.
	CheckAddrs(netns, ifName string, addrs []*net.IPNet) error
	AddRoutes(netns string, p route.Plan) ([]*types.Route, error)
	CheckRoutes(netns string, p route.Plan) error
	// RemoveRoutes removes what the attachment of egress owns.
	RemoveRoutes(netns, egress string) error
	// AddNAT installs the rulesets and returns the backend it used.
	AddNAT(netns string, n NAT) (nat.Backend, error)
	CheckNAT(netns string, n NAT) error
	RemoveNAT(netns, egress string) error
	// NATAvailable reports whether the backend can be used (STATUS).
	NATAvailable(b nat.Backend) error
	Announce(netns, ifName string, ips []net.IP) error
	// AwaitAddresses waits, probing the segment of the node's link
	// master for window at a time, until no other host holds one of ips,
	// and fails when one still does at deadline.
	AwaitAddresses(master string, ips []net.IP, window time.Duration, deadline time.Time) error
}

// PodKernel is the real Kernel. Removals treat a missing netns as
// nothing left to undo.
type PodKernel struct {
	// Pods shares the command's opened pod namespaces and their netlink
	// sockets between the steps; nil opens the pod for each call. Removals
	// open it with ifThere (a missing netns: nothing to undo).
	Pods *netx.Pods
}

var _ Kernel = PodKernel{}

func (k PodKernel) IfNameFree(netns, ifName string) error {
	return k.Pods.Netlink(netns, false, func(h netlinksafe.Handle) error {
		if _, err := h.LinkByName(ifName); err == nil {
			return cnierr.Env("CNI_IFNAME %q: the pod already has an interface of that name", ifName)
		}
		return nil
	})
}

// RemoveLink uses netlink directly: the plugins' pkg/ip would link
// knftables and ethtool into the binary for this one call, and every ADD
// pays for a binary's start.
func (k PodKernel) RemoveLink(netns, ifName string) error {
	return k.Pods.Netlink(netns, true, func(h netlinksafe.Handle) error {
		l, err := h.LinkByName(ifName)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil
			}
			return err
		}
		return h.LinkDel(l)
	})
}

// leftover is the temporary name upstream macvlan and ipvlan create
// their link under, in the pod, before renaming it to CNI_IFNAME
// (pkg/ip.RandomVethName).
var leftover = regexp.MustCompile(`^veth[0-9a-f]{8}$`)

// RemoveLeftovers deletes macvlan and ipvlan links under a temporary name
// that carry no address: a plugin killed between creating its link and
// renaming it leaves one, and no finished attachment looks like that.
func (k PodKernel) RemoveLeftovers(netns string) error {
	return k.Pods.Netlink(netns, true, func(h netlinksafe.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("failed to list the pod's links: %w", err)
		}
		var errs []error
		for _, l := range links {
			if kind := l.Type(); (kind != "macvlan" && kind != "ipvlan") || !leftover.MatchString(l.Attrs().Name) {
				continue
			}
			if addrs, err := netx.AddrList(h, l, netlink.FAMILY_ALL); err != nil || hasGlobal(addrs) {
				continue
			}
			if err := h.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("failed to delete the leftover link %s: %w", l.Attrs().Name, err))
			}
		}
		return errors.Join(errs...)
	})
}

func hasGlobal(addrs []netlink.Addr) bool {
	for _, a := range addrs {
		if a.IPNet != nil && !a.IP.IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

func (k PodKernel) CheckAddrs(netns, ifName string, addrs []*net.IPNet) error {
	if len(addrs) == 0 {
		return nil
	}
	return k.Pods.Netlink(netns, false, func(h netlinksafe.Handle) error {
		l, err := h.LinkByName(ifName)
		if err != nil {
			return fmt.Errorf("interface %q not found in the pod: %w", ifName, err)
		}
		have, err := netx.AddrList(h, l, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("failed to list the addresses of %q: %w", ifName, err)
		}
		for _, a := range addrs {
			found := false
			for _, got := range have {
				found = found || got.IPNet.String() == a.String()
			}
			if !found {
				return fmt.Errorf("address %s is missing from %q", a, ifName)
			}
		}
		return nil
	})
}

func (k PodKernel) AddRoutes(netns string, p route.Plan) (added []*types.Route, err error) {
	err = k.Pods.Netlink(netns, false, func(h netlinksafe.Handle) error {
		added, err = route.Apply(h, p)
		return err
	})
	return added, err
}

func (k PodKernel) CheckRoutes(netns string, p route.Plan) error {
	return k.Pods.Netlink(netns, false, func(h netlinksafe.Handle) error { return route.Check(h, p) })
}

func (k PodKernel) RemoveRoutes(netns, egress string) error {
	return k.Pods.Netlink(netns, true, func(h netlinksafe.Handle) error { return route.Remove(h, egress) })
}

func (k PodKernel) AddNAT(netns string, n NAT) (used nat.Backend, err error) {
	err = k.Pods.With(netns, false, func(pod *netx.Pod) error {
		if n.egressLater {
			used, err = nat.ApplyBeforeEgress(pod.NetNS, n.Sets, n.Backend)
			return err
		}
		used, err = nat.Apply(pod.NetNS, n.Sets, n.Backend)
		return err
	})
	return used, err
}

func (k PodKernel) CheckNAT(netns string, n NAT) error {
	return k.Pods.With(netns, false, func(pod *netx.Pod) error { return nat.Check(pod.NetNS, n.Sets, n.Backend) })
}

func (k PodKernel) RemoveNAT(netns, egress string) error {
	return k.Pods.With(netns, true, func(pod *netx.Pod) error { return nat.Remove(pod.NetNS, egress) })
}

func (PodKernel) NATAvailable(b nat.Backend) error {
	_, err := nat.Available(b)
	return err
}

// AwaitAddresses probes from the node's namespace, where this process
// runs: the master is the node's link.
func (PodKernel) AwaitAddresses(master string, ips []net.IP, window time.Duration, deadline time.Time) error {
	held, err := announce.WaitFree(master, ips, window, deadline)
	if err != nil {
		return cnierr.IO("%v", err)
	}
	if len(held) > 0 {
		var who []string
		for _, h := range held {
			who = append(who, fmt.Sprintf("%s by %s", h.IP, h.MAC))
		}
		return types.NewError(types.ErrTryAgainLater, fmt.Sprintf("reserved address still held on the segment of %q: %s; "+
			"another pod (or host) answers for it, and ADD waited %s for it to let go", master, strings.Join(who, ", "),
			time.Until(deadline).Round(time.Second)), "")
	}
	return nil
}

// Announce sends from inside the pod: its raw sockets must be opened
// there.
func (k PodKernel) Announce(netns, ifName string, ips []net.IP) error {
	return k.Pods.With(netns, false, func(pod *netx.Pod) error {
		return netx.Inside(pod, func() error { return announce.Send(ifName, ips) })
	})
}
