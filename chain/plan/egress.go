package plan

import (
	"net"
	"path/filepath"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
)

// Egress is the attachment's interface as a result describes it: the
// interface the route and NAT steps work on.
type Egress struct {
	IfName string
	// Addrs are the interface's addresses with their prefix length.
	Addrs []*net.IPNet
	// Gateways holds the gateway of each address (nil when it has none).
	Gateways []net.IP
}

// FindEgress returns the interface called ifName inside the sandbox netns
// and the addresses the result gives it.
func FindEgress(res *current.Result, netns, ifName string) (*Egress, error) {
	if res == nil {
		return nil, cnierr.Config("prevResult: missing; this plugin must follow an interface plugin (macvlan or ipvlan) in a conflist")
	}
	idx := -1
	for i, intf := range res.Interfaces {
		if intf == nil || intf.Name != ifName || intf.Sandbox == "" {
			continue
		}
		if sameNetns(intf.Sandbox, netns) {
			idx = i
			break
		}
		if idx < 0 {
			idx = i // same name in a sandbox; keep looking for an exact netns match
		}
	}
	if idx < 0 {
		return nil, cnierr.Config("prevResult: no interface %q with sandbox %q; the interface plugin before this one must create CNI_IFNAME in the pod", ifName, netns)
	}
	e := &Egress{IfName: ifName}
	for _, ipc := range res.IPs {
		if ipc == nil || ipc.Interface == nil || *ipc.Interface != idx {
			continue
		}
		addr := ipc.Address
		e.Addrs = append(e.Addrs, &addr)
		e.Gateways = append(e.Gateways, ipc.Gateway)
	}
	if len(e.Addrs) == 0 {
		return nil, cnierr.Config("prevResult: interface %q has no IP address; configure IPAM (e.g. static) on the interface plugin", ifName)
	}
	return e, nil
}

// Family returns the addresses of one family with their gateways.
func (e *Egress) Family(fam netx.Family) (addrs []*net.IPNet, gws []net.IP) {
	for i, a := range e.Addrs {
		if netx.FamilyOf(a.IP) == fam {
			addrs = append(addrs, a)
			gws = append(gws, e.Gateways[i])
		}
	}
	return addrs, gws
}

func sameNetns(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	// /var/run is commonly a link to /run; compare the files.
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}
