package nat

import (
	"errors"
	"fmt"
	"os"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
)

// Apply installs the rulesets in the pod with the backend (auto is
// resolved here) and turns forwarding on. It returns the backend used.
// The rules and the forwarding marker are written first, forwarding is
// switched after: a process killed in between leaves a marker, so DEL
// still turns forwarding back off. On failure forwarding and rules are
// as before.
func Apply(podNS ns.NetNS, sets []Ruleset, b Backend) (used Backend, err error) {
	return apply(podNS, sets, b, true)
}

// ApplyBeforeEgress is Apply while the egress interface is still being
// made: egress-router installs the NAT beside its interface plugin,
// whose link the rules name only by name. It checks the cluster
// interfaces alone; the caller checks the egress link once it exists.
func ApplyBeforeEgress(podNS ns.NetNS, sets []Ruleset, b Backend) (used Backend, err error) {
	return apply(podNS, sets, b, false)
}

func apply(podNS ns.NetNS, sets []Ruleset, b Backend, egressToo bool) (used Backend, err error) {
	p := newPod(podNS)
	defer p.close()
	nftOK := b == NFTables
	if b != IPTables && b != NFTables {
		nftOK = nftAvailable(p) == nil
	}
	var off []netx.Family
	err = p.in(func() error {
		if err := linksExist(sets, egressToo); err != nil {
			return err
		}
		used = choose(b, nftOK)
		var err error
		off, err = forwardingOff(families(sets))
		return err
	})
	if err != nil {
		return used, err
	}
	impl := used.impl()
	// nftables talks to the pod through its socket; iptables runs its
	// tools in the pod.
	run := func(f func() error) error {
		if used == NFTables {
			return f()
		}
		return p.in(f)
	}
	if err := run(func() error { return impl.apply(p, sets, off) }); err != nil {
		return used, err
	}
	err = p.in(func() error {
		_, restore, err := enableForwarding(families(sets))
		if err != nil {
			restore()
		}
		return err
	})
	if err != nil {
		// Our rules and marker go again; forwarding is as it was.
		_ = run(func() error {
			if _, rerr := impl.remove(p, sets[0].Egress, families(sets)); rerr != nil {
				return rerr
			}
			return impl.release(p, off)
		})
	}
	return used, err
}

// Check verifies the rulesets in the pod, and that forwarding is on. With
// auto, the backend is the one holding the attachment's NAT: nftables
// when its table is there, else iptables.
func Check(podNS ns.NetNS, sets []Ruleset, b Backend) error {
	if len(sets) == 0 {
		return nil
	}
	p := newPod(podNS)
	defer p.close()
	if b != IPTables && b != NFTables {
		b = IPTables
		if ok, _ := nftInstalled(p, sets[0].Family, sets[0].Egress); ok {
			b = NFTables
		}
	}
	impl := b.impl()
	if b == NFTables {
		if err := impl.check(p, sets); err != nil {
			return err
		}
		return p.in(func() error { return checkForwarding(sets) })
	}
	return p.in(func() error {
		if err := impl.check(p, sets); err != nil {
			return err
		}
		return checkForwarding(sets)
	})
}

// Remove deletes the egress interface's NAT from the pod, from both
// backends. Forwarding goes back off when this was the pod's last egress
// attachment and one of them had turned it on (the marker, see
// enableForwarding). iptables runs only where the pod has a nat table at
// all (legacy, or the one iptables-nft keeps in nftables).
func Remove(podNS ns.NetNS, egress string) error {
	p := newPod(podNS)
	defer p.close()
	nft, nerr := nftablesBackend{}.remove(p, egress, netx.Families)
	var ipt map[netx.Family]holding
	var release []netx.Family
	err := p.in(func() error {
		var used []netx.Family
		for _, f := range netx.Families {
			if nft[f].xtables || legacyNAT(f) {
				used = append(used, f)
			}
		}
		var errs []error
		// The last egress attachment of a family whose forwarding one of
		// them switched on: forwarding goes off before its marker does.
		off := func(f netx.Family) bool {
			if err := disableForwarding(f); err != nil {
				errs = append(errs, fmt.Errorf("failed to turn %s forwarding back off: %w", f, err))
				return false
			}
			release = append(release, f)
			return true
		}
		// An iptables marker goes in the restore that removes the chains.
		var err error
		ipt, err = (iptablesBackend{}).removeReleasing(p, egress, used, func(f netx.Family, h holding) bool {
			return !nft[f].others && !h.others && off(f)
		})
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		// A marker only nftables holds: forwarding off here, its table
		// after.
		for _, f := range netx.Families {
			if !ipt[f].marker && nft[f].marker && !nft[f].others && !ipt[f].others {
				off(f)
			}
		}
		return errors.Join(errs...)
	})
	rerr := nftablesBackend{}.release(p, heldBy(nft, release))
	return errors.Join(nerr, err, rerr)
}

// heldBy filters fams to those whose marker h holds.
func heldBy(h map[netx.Family]holding, fams []netx.Family) []netx.Family {
	var out []netx.Family
	for _, f := range fams {
		if h[f].marker {
			out = append(out, f)
		}
	}
	return out
}

// Available reports which backend a pod would get and whether it can be
// used, for STATUS: nftables through netlink, iptables by running it.
func Available(b Backend) (Backend, error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return "", err
	}
	defer self.Close()
	p := newPod(fdNS{self})
	defer p.close()
	nftErr := nftAvailable(p)
	use := choose(b, nftErr == nil)
	if use == NFTables {
		return use, nftErr
	}
	if _, err := newIPT(netx.V4); err != nil {
		return use, err
	}
	return use, nil
}

// fdNS is the current thread's netns, for the STATUS probe, which needs
// only its file descriptor.
type fdNS struct{ f *os.File }

func (n fdNS) Do(f func(ns.NetNS) error) error { return f(n) }
func (n fdNS) Set() error                      { return nil }
func (n fdNS) Path() string                    { return n.f.Name() }
func (n fdNS) Fd() uintptr                     { return n.f.Fd() }
func (n fdNS) Close() error                    { return nil }

// linksExist checks the interfaces the rules match on: iptables accepts
// any name, so a typo would install rules that never match. Without
// egressToo only the cluster interfaces are checked.
func linksExist(sets []Ruleset, egressToo bool) error {
	for _, rs := range sets {
		names := []string{rs.Cluster}
		if egressToo {
			names = append(names, rs.Egress)
		}
		for _, name := range names {
			if _, err := netlinksafe.LinkByName(name); err != nil {
				return cnierr.Config("interface %q (clusterInterface or the egress interface) not found in the pod: %v", name, err)
			}
		}
	}
	return nil
}
