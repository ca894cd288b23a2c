package nat

import (
	"errors"

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

func inPod(netnsPath string, f func(fd int) error) error {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error { return f(int(netns.Fd())) })
}

// Add enables forwarding and installs the rulesets in the pod at
// netnsPath with the backend (iptables, nftables or auto). It returns the
// backend used. On failure forwarding and rules are as before.
func Add(netnsPath string, sets []Ruleset, backend string) (used string, err error) {
	err = inPod(netnsPath, func(fd int) error {
		if err := linksExist(sets); err != nil {
			return err
		}
		used = choose(backend, fd)
		switched, restore, err := EnableForwarding(families(sets))
		if err != nil {
			return err
		}
		if used == NFTables {
			err = nftApply(fd, sets, switched)
		} else {
			err = Apply(sets, switched)
		}
		if err != nil {
			restore()
		}
		return err
	})
	return used, err
}

// CheckIn verifies the rulesets in the pod at netnsPath. With auto, the
// backend is the one holding the attachment's NAT: nftables when its
// table is there, else iptables.
func CheckIn(netnsPath string, sets []Ruleset, backend string) error {
	if len(sets) == 0 {
		return nil
	}
	return inPod(netnsPath, func(fd int) error {
		use := backend
		if use == Auto || use == "" {
			use = IPTables
			if ok, _ := nftInstalled(fd, sets[0].Family, sets[0].Egress); ok {
				use = NFTables
			}
		}
		if use == NFTables {
			return nftCheck(fd, sets)
		}
		return Check(sets)
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
	return netns.Do(func(ns.NetNS) error {
		_, err := nftRemove(int(netns.Fd()), egressIf)
		for _, f := range []Family{4, 6} {
			if iptablesInUse(f) {
				dnat, snat := ChainNames(egressIf)
				err = errors.Join(err, removeFamily(f, dnat, snat))
			}
		}
		return err
	})
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
