package route

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
)

// Apply installs the plan's routes in the pod and returns them for the
// CNI result. On failure it undoes its own changes before returning,
// leaving the pod's routes as it found them.
func Apply(h netlinksafe.Handle, p Plan) (added []*types.Route, err error) {
	rs, names, err := p.inPod(h)
	if err != nil {
		return nil, err
	}
	if added, err = install(h, rs, names); err != nil {
		return nil, err
	}
	if err := addRules(h, p.Families()); err != nil {
		// The routes go too: the step undoes its own part.
		_ = removeFamilies(h, p.Families())
		return nil, err
	}
	return added, nil
}

// addRules adds the reply-path rules of the families; one already there
// (an earlier ADD of this attachment) is kept.
func addRules(h netlinksafe.Handle, fams []netx.Family) error {
	for _, f := range fams {
		for _, r := range replyRules(f) {
			if err := h.RuleAdd(&r); err != nil && !errors.Is(err, syscall.EEXIST) {
				return fmt.Errorf("failed to add the rule %s (%s): %w", describeRule(r), f, err)
			}
		}
	}
	return nil
}

// ourRules lists the reply-path rules of a family in the pod.
func ourRules(h netlinksafe.Handle, fam netx.Family) ([]netlink.Rule, error) {
	all, err := h.RuleListFiltered(fam.Netlink(), nil, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to list %s rules: %w", fam, err)
	}
	var out []netlink.Rule
	for _, r := range all {
		if r.Protocol == uint8(Protocol) || (r.Mark == netx.ReplyMark && (r.Priority == RuleSpecific || r.Priority == RuleDefault)) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Check verifies, in the pod, that every planned route is present and
// that each planned family's preferred default goes via the egress link.
func Check(h netlinksafe.Handle, p Plan) error {
	rs, names, err := p.inPod(h)
	if err != nil {
		return err
	}
	for i := range rs {
		if !existsEquivalent(h, &rs[i]) {
			return fmt.Errorf("route %s is missing", Describe(&rs[i], names))
		}
	}
	for _, fam := range p.Families() {
		all, err := h.RouteListFiltered(fam.Netlink(), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("failed to list %s routes: %w", fam, err)
		}
		var defs []netlink.Route
		for i := range all {
			if netx.IsDefault(all[i].Dst) {
				defs = append(defs, all[i])
			}
		}
		if len(defs) == 0 {
			return fmt.Errorf("no %s default route", fam)
		}
		if best := lowestMetric(defs); names[best.LinkIndex] != p.Egress {
			return fmt.Errorf("the %s default route is %s, not via the egress interface %q", fam, Describe(&best, names), p.Egress)
		}
		have, err := ourRules(h, fam)
		if err != nil {
			return err
		}
		for _, want := range replyRules(fam) {
			found := false
			for _, h := range have {
				found = found || (h.Priority == want.Priority && h.Table == want.Table && h.Mark == want.Mark &&
					h.SuppressPrefixlen == want.SuppressPrefixlen)
			}
			if !found {
				return fmt.Errorf("the reply-path rule %s (%s) is missing", describeRule(want), fam)
			}
		}
	}
	return nil
}

// Remove deletes, in the pod, what the attachment whose egress interface
// is egress owns: in the families whose Protocol default goes through it,
// every Protocol route and reply-path rule, and the saved defaults go back
// into the main table. Families an attachment left behind when its link
// went (saved defaults, no Protocol default) are cleaned up too; another
// attachment's families are not touched. It is idempotent.
func Remove(h netlinksafe.Handle, egress string) error {
	fams, err := owned(h, egress)
	if err != nil {
		return err
	}
	return remove(h, fams)
}

// family is what a removal reads of one family in the pod, once: the
// routes of every table and our rules. On a small node each dump costs
// more than the decisions made from it.
type family struct {
	fam    netx.Family
	routes []netlink.Route
	rules  []netlink.Rule
}

// readRoutes lists the family's routes in every table.
func readRoutes(h netlinksafe.Handle, fam netx.Family) (family, error) {
	all, err := h.RouteListFiltered(fam.Netlink(), &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return family{fam: fam}, fmt.Errorf("failed to list %s routes: %w", fam, err)
	}
	return family{fam: fam, routes: all}, nil
}

// owned finds the families the attachment owns in the pod h reaches,
// and the ones a vanished attachment left.
func owned(h netlinksafe.Handle, egress string) ([]family, error) {
	idx := 0
	if l, err := h.LinkByName(egress); err == nil {
		idx = l.Attrs().Index
	}
	var out []family
	for _, fam := range netx.Families {
		f, err := readRoutes(h, fam)
		if err != nil {
			return nil, err
		}
		mine, someone, saved, ours := false, false, false, false
		for i := range f.routes {
			r := &f.routes[i]
			switch {
			case r.Table == SavedTable:
				saved = true
			case r.Table != unix.RT_TABLE_MAIN:
				// local and other tables: not ours to judge by
			case r.Protocol == Protocol && netx.IsDefault(r.Dst):
				someone = true
				mine = mine || (idx > 0 && r.LinkIndex == idx)
			case r.Protocol == Protocol:
				ours = true
			}
		}
		if someone && !mine {
			continue // another attachment's family
		}
		if f.rules, err = ourRules(h, fam); err != nil {
			return nil, err
		}
		if mine || saved || ours || len(f.rules) > 0 {
			out = append(out, f)
		}
	}
	return out, nil
}

// removeFamilies is remove for families not read yet (a failed ADD's
// own undo). What cannot be read is left; the rest still goes.
func removeFamilies(h netlinksafe.Handle, fams []netx.Family) error {
	var errs []error
	var read []family
	for _, fam := range fams {
		f, err := readRoutes(h, fam)
		var rerr error
		f.rules, rerr = ourRules(h, fam)
		errs = append(errs, err, rerr)
		read = append(read, f)
	}
	return errors.Join(append(errs, remove(h, read))...)
}

// remove deletes the Protocol routes and reply-path rules of the families
// as read, and moves their saved defaults back into the main table.
func remove(h netlinksafe.Handle, fams []family) error {
	var errs []error
	for _, f := range fams {
		for _, r := range f.rules {
			if err := h.RuleDel(&r); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("failed to delete the rule %s (%s): %w", describeRule(r), f.fam, err))
			}
		}
		var saved []netlink.Route
		for i := range f.routes {
			r := f.routes[i]
			switch {
			case r.Protocol == Protocol:
				if err := h.RouteDel(&r); err != nil && !errors.Is(err, syscall.ESRCH) {
					errs = append(errs, fmt.Errorf("failed to delete route %s: %w", Describe(&r, nil), err))
				}
			case r.Table == SavedTable:
				saved = append(saved, r)
			}
		}
		if err := restoreDefaults(h, saved); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// inPod turns the plan into routes on the pod's links (h is the pod's),
// and names the links for messages.
func (p Plan) inPod(h netlinksafe.Handle) ([]netlink.Route, map[int]string, error) {
	egress, err := h.LinkByName(p.Egress)
	if err != nil {
		return nil, nil, cnierr.Config("egress interface %q not found in the pod: %v", p.Egress, err)
	}
	cluster, err := h.LinkByName(p.Cluster)
	if err != nil {
		return nil, nil, cnierr.Config("clusterInterface %q not found in the pod: %v", p.Cluster, err)
	}
	if egress.Attrs().Index == cluster.Attrs().Index {
		return nil, nil, cnierr.Config("clusterInterface %q is the egress interface itself", p.Cluster)
	}
	names := map[int]string{egress.Attrs().Index: p.Egress, cluster.Attrs().Index: p.Cluster}
	rs, err := p.Routes(egress.Attrs().Index, cluster.Attrs().Index, clusterGateway(h, cluster))
	if err != nil {
		return nil, nil, err
	}
	if len(p.Gateways) == 0 {
		return nil, nil, p.noGateway()
	}
	return rs, names, nil
}

// install adds the routes in order; on failure it undoes what it did.
func install(h netlinksafe.Handle, rs []netlink.Route, names map[int]string) (added []*types.Route, err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			added = nil
		}
	}()
	for i := range rs {
		r := rs[i]
		if netx.IsDefault(r.Dst) {
			// Move the family's current defaults aside, then add ours.
			moved, merr := moveDefaults(h, netx.FamilyOf(r.Dst.IP))
			undo = append(undo, func() { _ = restoreDefaults(h, moved) })
			if merr != nil {
				return nil, merr
			}
		}
		if aerr := h.RouteAdd(&r); aerr != nil {
			if errors.Is(aerr, syscall.EEXIST) && existsEquivalent(h, &r) {
				// Someone (e.g. the cluster network) already routes it the
				// same way: keep theirs and do not claim it.
				continue
			}
			return nil, fmt.Errorf("failed to add route %s: %w", Describe(&r, names), aerr)
		}
		undo = append(undo, func() { _ = h.RouteDel(&r) })
		added = append(added, &types.Route{Dst: *r.Dst, GW: r.Gw})
	}
	return added, nil
}

// clusterDefaults returns the cluster interface's default routes of a
// family: from SavedTable when the egress router is attached, else from
// the main table.
func clusterDefaults(h netlinksafe.Handle, cluster netlink.Link, fam netx.Family) ([]netlink.Route, error) {
	for _, table := range []int{SavedTable, unix.RT_TABLE_MAIN} {
		rs, err := h.RouteListFiltered(fam.Netlink(), &netlink.Route{Table: table, LinkIndex: cluster.Attrs().Index},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_OIF)
		if err != nil {
			return nil, fmt.Errorf("failed to list %s routes of %q: %w", fam, cluster.Attrs().Name, err)
		}
		var out []netlink.Route
		for i := range rs {
			if netx.IsDefault(rs[i].Dst) && rs[i].Protocol != Protocol {
				out = append(out, rs[i])
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, nil
}

// clusterGateway returns the gateway of the cluster interface's default
// route of a family, in the pod h reaches: where the routes kept
// on the cluster interface go.
func clusterGateway(h netlinksafe.Handle, cluster netlink.Link) func(netx.Family) (net.IP, error) {
	return func(fam netx.Family) (net.IP, error) {
		defs, err := clusterDefaults(h, cluster, fam)
		if err != nil {
			return nil, err
		}
		if len(defs) == 0 {
			return nil, cnierr.Config("clusterInterface %q has no %s default route to take the cluster gateway from", cluster.Attrs().Name, fam)
		}
		return lowestMetric(defs).Gw, nil
	}
}

// moveDefaults copies the main table's default routes of a family into
// SavedTable and removes them from main, whatever their link, so the
// egress default is the only one; routes we own (Protocol) stay.
func moveDefaults(h netlinksafe.Handle, fam netx.Family) ([]netlink.Route, error) {
	rs, err := h.RouteListFiltered(fam.Netlink(), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("failed to list %s routes: %w", fam, err)
	}
	var moved []netlink.Route
	for i := range rs {
		r := rs[i]
		if !netx.IsDefault(r.Dst) || r.Protocol == Protocol {
			continue
		}
		saved := r
		saved.Table = SavedTable
		if err := h.RouteAdd(&saved); err != nil && !errors.Is(err, syscall.EEXIST) {
			return moved, fmt.Errorf("failed to save the default route via %v in table %d: %w", r.Gw, SavedTable, err)
		}
		if err := h.RouteDel(&r); err != nil {
			_ = h.RouteDel(&saved)
			return moved, fmt.Errorf("failed to remove the default route via %v: %w", r.Gw, err)
		}
		moved = append(moved, r)
	}
	return moved, nil
}

// restoreDefaults puts saved default routes back into main and drops
// their copies from SavedTable.
func restoreDefaults(h netlinksafe.Handle, rs []netlink.Route) error {
	var errs []error
	for i := range rs {
		r := rs[i]
		r.Table = unix.RT_TABLE_MAIN
		if err := h.RouteAdd(&r); err != nil && !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.ENODEV) {
			// Keep the saved copy: the next DEL tries again.
			errs = append(errs, fmt.Errorf("failed to restore the default route via %v: %w", r.Gw, err))
			continue
		}
		saved := rs[i]
		saved.Table = SavedTable
		if err := h.RouteDel(&saved); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("failed to drop the saved default route via %v from table %d: %w", r.Gw, SavedTable, err))
		}
	}
	return errors.Join(errs...)
}

func existsEquivalent(h netlinksafe.Handle, want *netlink.Route) bool {
	rs, err := h.RouteListFiltered(netx.FamilyOf(want.Dst.IP).Netlink(), &netlink.Route{Table: tableOf(want)}, netlink.RT_FILTER_TABLE)
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
