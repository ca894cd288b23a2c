package plan

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/nat"
)

// Del undoes ADD in reverse order: NAT, routes, then the interface
// plugin's DEL. Each step is idempotent and needs neither prevResult nor
// the netns; all of them run even when one fails, and each failure is
// logged. The first error is returned, keeping its CNI code, with how
// long each step took.
func (r Runner) Del(ctx context.Context, t Teardown) (Timings, error) {
	k, log := r.kernel(), r.log()
	tm := Timings{start: r.Start}
	step := func(name string, err error) error {
		if t.Interface != nil {
			return cnierr.Prefix(name, err)
		}
		return err
	}
	// errs[0] is the NAT step's, whenever it runs.
	errs := []error{nil}
	tm.mark("checks")
	// egress-router removes the NAT beside its routes and its interface
	// plugin's DEL (see beside): the rules name the egress link only by
	// name. The routes go before the link: which default route is the
	// attachment's is told by the link's index.
	var natRun *beside
	if t.NAT && t.Interface != nil {
		natRun = runBeside(func() error { return k.RemoveNAT(t.Pod.Netns, t.Pod.IfName) })
	} else if t.NAT {
		errs[0] = step("nat", k.RemoveNAT(t.Pod.Netns, t.Pod.IfName))
		tm.mark("nat")
	}
	if t.Routes {
		errs = append(errs, step("routes", k.RemoveRoutes(t.Pod.Netns, t.Pod.IfName)))
		tm.mark("routes")
	}
	if t.Interface != nil {
		conf, err := delegateBytes(*t.Interface)
		if err == nil {
			err = cnierr.Prefix(t.Interface.Type, invoke.DelegateDel(ctx, t.Interface.Type, conf, r.Exec))
		}
		errs = append(errs, err)
		tm.mark(t.Interface.Type)
	}
	if natRun != nil {
		errs[0] = step("nat", natRun.wait())
		tm.beside("nat", natRun.took)
		tm.mark("nat wait")
	}
	if t.Leftovers {
		errs = append(errs, k.RemoveLeftovers(t.Pod.Netns))
		tm.mark("leftovers")
	}
	for _, e := range errs {
		if e != nil {
			log.Errorf("DEL %s %s: %v", t.Pod.ContainerID, t.Pod.IfName, e)
		}
	}
	return tm, firstError(errs)
}

// Status is what STATUS asks about: the interface plugin (the spec asks
// delegating plugins to forward STATUS) and the NAT backend, when NAT may
// be needed.
type Status struct {
	// Name is the plugin asking, for the message.
	Name      string
	Interface *Delegate
	NAT       bool
	Backend   nat.Backend
}

// Status reports whether ADD can work.
func (r Runner) Status(ctx context.Context, s Status) error {
	if s.Interface != nil {
		conf, err := delegateBytes(*s.Interface)
		if err != nil {
			return err
		}
		if err := invoke.DelegateStatus(ctx, s.Interface.Type, conf, r.Exec); err != nil {
			return cnierr.Prefix(s.Interface.Type+" status", err)
		}
	}
	if s.NAT {
		if err := r.kernel().NATAvailable(s.Backend); err != nil {
			return cnierr.NotAvailable("%s: %v", s.Name, err)
		}
	}
	return nil
}

// GC forwards GC to the interface plugin with the runtime's list of valid
// attachments. Routes and NAT live in the pods' netns and go with them.
func (r Runner) GC(ctx context.Context, d *Delegate, valid json.RawMessage) error {
	if d == nil {
		return nil
	}
	gc := *d
	gc.ValidAttachments = valid
	conf, err := delegateBytes(gc)
	if err != nil {
		return err
	}
	return cnierr.Prefix(gc.Type+" gc", invoke.DelegateGC(ctx, gc.Type, conf, r.Exec))
}

// firstError returns the first error, keeping its CNI code, and mentions
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
