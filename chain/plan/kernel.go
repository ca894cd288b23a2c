package plan

import (
	"errors"
	"fmt"
	"net"
	"regexp"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
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
}

// PodKernel is the real Kernel. Each call opens the pod's netns; removals
// treat a missing one as nothing left to undo.
type PodKernel struct{}

var _ Kernel = PodKernel{}

func inPod(netns string, f func(ns.NetNS) error) error {
	pod, err := netx.OpenPod(netns)
	if err != nil {
		return err
	}
	defer pod.Close()
	return f(pod)
}

func inPodIfThere(netns string, f func(ns.NetNS) error) error {
	pod, err := netx.OpenPodIfThere(netns)
	if err != nil || pod == nil {
		return err
	}
	defer pod.Close()
	return f(pod)
}

func (PodKernel) IfNameFree(netns, ifName string) error {
	return inPod(netns, func(pod ns.NetNS) error {
		return pod.Do(func(ns.NetNS) error {
			if _, err := netlinksafe.LinkByName(ifName); err == nil {
				return cnierr.Env("CNI_IFNAME %q: the pod already has an interface of that name", ifName)
			}
			return nil
		})
	})
}

// RemoveLink uses netlink directly: the plugins' pkg/ip would link
// knftables and ethtool into the binary for this one call, and every ADD
// pays for a binary's start.
func (PodKernel) RemoveLink(netns, ifName string) error {
	return inPodIfThere(netns, func(pod ns.NetNS) error {
		return pod.Do(func(ns.NetNS) error {
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
	})
}

// leftover is the temporary name upstream macvlan and ipvlan create
// their link under, in the pod, before renaming it to CNI_IFNAME
// (pkg/ip.RandomVethName).
var leftover = regexp.MustCompile(`^veth[0-9a-f]{8}$`)

// RemoveLeftovers deletes macvlan and ipvlan links under a temporary name
// that carry no address: a plugin killed between creating its link and
// renaming it leaves one, and no finished attachment looks like that.
func (PodKernel) RemoveLeftovers(netns string) error {
	return inPodIfThere(netns, func(pod ns.NetNS) error {
		return pod.Do(func(ns.NetNS) error {
			links, err := netlinksafe.LinkList()
			if err != nil {
				return fmt.Errorf("failed to list the pod's links: %w", err)
			}
			var errs []error
			for _, l := range links {
				if kind := l.Type(); (kind != "macvlan" && kind != "ipvlan") || !leftover.MatchString(l.Attrs().Name) {
					continue
				}
				if addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL); err != nil || hasGlobal(addrs) {
					continue
				}
				if err := netlink.LinkDel(l); err != nil {
					errs = append(errs, fmt.Errorf("failed to delete the leftover link %s: %w", l.Attrs().Name, err))
				}
			}
			return errors.Join(errs...)
		})
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

func (PodKernel) CheckAddrs(netns, ifName string, addrs []*net.IPNet) error {
	if len(addrs) == 0 {
		return nil
	}
	return inPod(netns, func(pod ns.NetNS) error {
		return pod.Do(func(ns.NetNS) error {
			l, err := netlinksafe.LinkByName(ifName)
			if err != nil {
				return fmt.Errorf("interface %q not found in the pod: %w", ifName, err)
			}
			have, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL)
			if err != nil {
				return fmt.Errorf("failed to list the addresses of %q: %w", ifName, err)
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
	})
}

func (PodKernel) AddRoutes(netns string, p route.Plan) (added []*types.Route, err error) {
	err = inPod(netns, func(pod ns.NetNS) error {
		added, err = route.Apply(pod, p)
		return err
	})
	return added, err
}

func (PodKernel) CheckRoutes(netns string, p route.Plan) error {
	return inPod(netns, func(pod ns.NetNS) error { return route.Check(pod, p) })
}

func (PodKernel) RemoveRoutes(netns, egress string) error {
	return inPodIfThere(netns, func(pod ns.NetNS) error { return route.Remove(pod, egress) })
}

func (PodKernel) AddNAT(netns string, n NAT) (used nat.Backend, err error) {
	err = inPod(netns, func(pod ns.NetNS) error {
		used, err = nat.Apply(pod, n.Sets, n.Backend)
		return err
	})
	return used, err
}

func (PodKernel) CheckNAT(netns string, n NAT) error {
	return inPod(netns, func(pod ns.NetNS) error { return nat.Check(pod, n.Sets, n.Backend) })
}

func (PodKernel) RemoveNAT(netns, egress string) error {
	return inPodIfThere(netns, func(pod ns.NetNS) error { return nat.Remove(pod, egress) })
}

func (PodKernel) NATAvailable(b nat.Backend) error {
	_, err := nat.Available(b)
	return err
}

func (PodKernel) Announce(netns, ifName string, ips []net.IP) error {
	return inPod(netns, func(pod ns.NetNS) error {
		return pod.Do(func(ns.NetNS) error { return announce.Send(ifName, ips) })
	})
}
