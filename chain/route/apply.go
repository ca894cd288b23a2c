package route

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

var errEEXIST = syscall.EEXIST

// Apply installs the plan in the current (pod) netns. It returns the
// routes added, for the CNI result. On failure it undoes its own changes
// before returning, leaving the routing table as it found it.
func (p *Plan) Apply() (added []*types.Route, err error) {
	names := p.names()
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			added = nil
		}
	}()

	for i := range p.Routes {
		r := p.Routes[i]
		if isDefault(&r) {
			// Move the family's current defaults aside, then add ours.
			moved, merr := moveDefaults(family(r.Dst.IP), r.LinkIndex)
			undo = append(undo, func() { restoreDefaults(moved) })
			if merr != nil {
				return nil, merr
			}
		}
		if aerr := netlink.RouteAdd(&r); aerr != nil {
			if isExist(aerr) && existsEquivalent(&r) {
				// Someone (e.g. the cluster network) already routes it the
				// same way: keep theirs and do not claim it.
				continue
			}
			return nil, fmt.Errorf("failed to add route %s: %v", Describe(&r, names), aerr)
		}
		undo = append(undo, func() { _ = netlink.RouteDel(&r) })
		added = append(added, &types.Route{Dst: *r.Dst, GW: r.Gw})
	}
	return added, nil
}

// moveDefaults copies the main table's default routes of a family into
// SavedTable and removes them from main, whatever their link, so the
// egress default is the only one; routes we own (Protocol) stay.
func moveDefaults(fam, egressIndex int) ([]netlink.Route, error) {
	rs, err := netlinksafe.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("failed to list %s routes: %v", famName(fam), err)
	}
	var moved []netlink.Route
	for i := range rs {
		r := rs[i]
		if !isDefault(&r) || r.Protocol == Protocol {
			continue
		}
		saved := r
		saved.Table = SavedTable
		if err := netlink.RouteAdd(&saved); err != nil && !isExist(err) {
			return moved, fmt.Errorf("failed to save the default route via %v in table %d: %v", r.Gw, SavedTable, err)
		}
		if err := netlink.RouteDel(&r); err != nil {
			_ = netlink.RouteDel(&saved)
			return moved, fmt.Errorf("failed to remove the default route via %v: %v", r.Gw, err)
		}
		moved = append(moved, r)
	}
	return moved, nil
}

// restoreDefaults puts saved default routes back into main and drops
// their copies from SavedTable.
func restoreDefaults(rs []netlink.Route) error {
	var errs []error
	for i := range rs {
		r := rs[i]
		r.Table = unix.RT_TABLE_MAIN
		if err := netlink.RouteAdd(&r); err != nil && !isExist(err) && !errors.Is(err, syscall.ENODEV) {
			errs = append(errs, fmt.Errorf("failed to restore the default route via %v: %v", r.Gw, err))
		}
		saved := rs[i]
		saved.Table = SavedTable
		_ = netlink.RouteDel(&saved)
	}
	return errors.Join(errs...)
}

func existsEquivalent(want *netlink.Route) bool {
	rs, err := netlinksafe.RouteListFiltered(family(want.Dst.IP), &netlink.Route{Table: tableOf(want)}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return false
	}
	for i := range rs {
		if sameRoute(&rs[i], want) {
			return true
		}
	}
	return false
}

// Check verifies, in the pod netns, that every planned route is present
// and that each planned family's preferred default goes via the egress link.
func (p *Plan) Check() error {
	names := p.names()
	for i := range p.Routes {
		want := &p.Routes[i]
		if !existsEquivalent(want) {
			return fmt.Errorf("route %s is missing", Describe(want, names))
		}
	}
	for _, fam := range p.Families {
		rs, err := netlinksafe.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("failed to list %s routes: %v", famName(fam), err)
		}
		var defs []netlink.Route
		for i := range rs {
			if isDefault(&rs[i]) {
				defs = append(defs, rs[i])
			}
		}
		if len(defs) == 0 {
			return fmt.Errorf("no %s default route", famName(fam))
		}
		if best := lowestMetric(defs); best.LinkIndex != p.Egress.Attrs().Index {
			return fmt.Errorf("the %s default route is %s, not via the egress interface %q", famName(fam), Describe(&best, names), p.Egress.Attrs().Name)
		}
	}
	return nil
}

// Remove deletes, in the pod netns, every route this step owns and puts
// the saved default routes back. It is idempotent.
func Remove() error {
	var errs []error
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		all, err := netlinksafe.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to list %s routes: %v", famName(fam), err))
			continue
		}
		var saved []netlink.Route
		for i := range all {
			r := all[i]
			switch {
			case r.Protocol == Protocol:
				if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, syscall.ESRCH) {
					errs = append(errs, fmt.Errorf("failed to delete route %s: %v", Describe(&r, nil), err))
				}
			case r.Table == SavedTable:
				saved = append(saved, r)
			}
		}
		if err := restoreDefaults(saved); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
