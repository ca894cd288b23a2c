package plan

import (
	"context"
	"encoding/json"
	"net"

	"github.com/containernetworking/cni/pkg/invoke"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// Check compares the pod with the plan and the ADD result the runtime
// passes as prevResult: the interface through its plugin's CHECK, then
// our routes and NAT.
func (r Runner) Check(ctx context.Context, p Plan) error {
	k := r.kernel()
	step := func(name string, err error) error {
		if p.chain() {
			return cnierr.Prefix(name, err)
		}
		return err
	}
	if p.Interface != nil {
		if err := r.checkInterface(ctx, p); err != nil {
			return err
		}
	}
	if p.Routes != nil {
		if err := k.CheckRoutes(p.Pod.Netns, *p.Routes); err != nil {
			return step("routes check", err)
		}
	}
	if p.NAT != nil {
		if err := k.CheckNAT(p.Pod.Netns, *p.NAT); err != nil {
			return step("nat check", err)
		}
	}
	return nil
}

// checkInterface has the interface plugin check what it made: the link
// and its addresses. Our routes are not its to check.
func (r Runner) checkInterface(ctx context.Context, p Plan) error {
	if p.Prev == nil {
		return cnierr.Config("prevResult: missing; CHECK compares the pod with the ADD result the runtime passes in prevResult")
	}
	if _, err := FindEgress(p.Prev, p.Pod.Netns, p.Pod.IfName); err != nil {
		return err
	}
	typ := p.Interface.Conf.Type
	own := *p.Prev
	own.Routes = nil
	// Upstream macvlan/ipvlan CHECK wants a kernel route for each
	// address's prefix, which a host address (/32, /128) never has; those
	// addresses are checked here instead.
	var hostAddrs []*net.IPNet
	own.IPs, hostAddrs = splitHostAddrs(p.Prev.IPs)
	if err := r.kernel().CheckAddrs(p.Pod.Netns, p.Pod.IfName, hostAddrs); err != nil {
		return cnierr.Prefix(typ+" check", err)
	}
	versioned, err := own.GetAsVersion(p.CNIVersion)
	if err != nil {
		return cnierr.Config("prevResult: cannot convert to version %s: %v", p.CNIVersion, err)
	}
	d := p.Interface.Conf
	if d.PrevResult, err = json.Marshal(versioned); err != nil {
		return cnierr.IO("failed to encode prevResult: %v", err)
	}
	conf, err := delegateBytes(d)
	if err != nil {
		return err
	}
	return cnierr.Prefix(typ+" check", invoke.DelegateCheck(ctx, typ, conf, r.Exec))
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
