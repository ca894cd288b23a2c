package nat

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/cnierr"
)

func families(sets []Ruleset) []Family {
	var out []Family
	for _, rs := range sets {
		out = append(out, rs.Family)
	}
	return out
}

// unlocked runs f on a goroutine of its own. Plugins lock their main
// goroutine to its thread (namespace switches are per thread), and a
// locked goroutine hands its thread over on every blocking netlink read.
// The nftables work needs no namespace switch either: its netlink socket
// is opened in the pod's netns (WithNetNSFd).
func unlocked(f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return <-done
}

// Add enables forwarding and installs the rulesets in the pod at
// netnsPath with the backend (iptables, nftables or auto). It returns the
// backend used. On failure forwarding and rules are as before.
func Add(netnsPath string, sets []Ruleset, backend string) (used string, err error) {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return "", cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	fd := int(netns.Fd())
	var switched []Family
	restore := func() {}
	nftOK := backend == NFTables
	if backend != IPTables && backend != NFTables {
		nftOK = unlocked(func() error { return nftAvailable(fd) }) == nil
	}
	err = netns.Do(func(ns.NetNS) error {
		if err := linksExist(sets); err != nil {
			return err
		}
		used = choose(backend, nftOK)
		var err error
		if switched, restore, err = EnableForwarding(families(sets)); err != nil {
			return err
		}
		if used == NFTables {
			return nil
		}
		if err := Apply(sets, switched); err != nil {
			restore()
			return err
		}
		return nil
	})
	if err != nil || used != NFTables {
		return used, err
	}
	if err := unlocked(func() error { return nftApply(fd, sets, switched) }); err != nil {
		_ = netns.Do(func(ns.NetNS) error { restore(); return nil })
		return used, err
	}
	return used, nil
}

// CheckIn verifies the rulesets in the pod at netnsPath. With auto, the
// backend is the one holding the attachment's NAT: nftables when its
// table is there, else iptables.
func CheckIn(netnsPath string, sets []Ruleset, backend string) error {
	if len(sets) == 0 {
		return nil
	}
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	fd := int(netns.Fd())
	use := backend
	if use == Auto || use == "" {
		use = IPTables
		if ok, _ := nftInstalled(fd, sets[0].Family, sets[0].Egress); ok {
			use = NFTables
		}
	}
	if use == NFTables {
		if err := unlocked(func() error { return nftCheck(fd, sets) }); err != nil {
			return err
		}
		return netns.Do(func(ns.NetNS) error { return checkForwarding(sets) })
	}
	return netns.Do(func(ns.NetNS) error {
		if err := Check(sets); err != nil {
			return err
		}
		return checkForwarding(sets)
	})
}

// Del removes the egress interface's NAT from the pod at netnsPath, from
// both backends. A missing or empty netns means there is nothing to undo.
// Forwarding goes back off when this was the pod's last egress attachment
// and one of them had turned it on (see ForwardingMarker). iptables is
// only run when the pod uses it at all.
func Del(netnsPath, egressIf string) error {
	if netnsPath == "" {
		return nil
	}
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		var notExist ns.NSPathNotExistErr
		if errors.As(err, &notExist) {
			return nil
		}
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	fd := int(netns.Fd())
	var st map[Family]nftState
	nerr := unlocked(func() (err error) { st, err = nftRemove(fd, egressIf); return err })
	var release []Family
	err = netns.Do(func(ns.NetNS) error {
		var errs []error
		for _, f := range []Family{4, 6} {
			s := st[f]
			// iptables only where the pod has a nat table in it at all
			// (legacy, or the one iptables-nft keeps in nftables).
			iptOthers := false
			if s.xtables || legacyNAT(f) {
				dnat, snat := ChainNames(egressIf)
				var err error
				iptOthers, err = removeFamily(f, dnat, snat, s.others)
				errs = append(errs, err)
			}
			// The nftables marker: released when no attachment is left in
			// either backend.
			if s.marker && !s.others && !iptOthers {
				if err := disableForwarding(f); err != nil {
					errs = append(errs, fmt.Errorf("failed to turn IPv%d forwarding back off: %v", f, err))
					continue
				}
				release = append(release, f)
			}
		}
		return errors.Join(errs...)
	})
	derr := unlocked(func() error { return nftDropMarker(fd, release) })
	return errors.Join(nerr, err, derr)
}

// linksExist checks the interfaces the rules match on: iptables accepts
// any name, so a typo would install rules that never match.
func linksExist(sets []Ruleset) error {
	for _, rs := range sets {
		for _, name := range []string{rs.Cluster, rs.Egress} {
			if _, err := netlinksafe.LinkByName(name); err != nil {
				return cnierr.Config("interface %q (clusterInterface or the egress interface) not found in the pod: %v", name, err)
			}
		}
	}
	return nil
}
