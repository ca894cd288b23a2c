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

// Add enables forwarding and installs the rulesets in the pod at
// netnsPath. On failure forwarding and rules are as before.
func Add(netnsPath string, sets []Ruleset) error {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error {
		if err := linksExist(sets); err != nil {
			return err
		}
		switched, restore, err := EnableForwarding(families(sets))
		if err != nil {
			return err
		}
		if err := Apply(sets, switched); err != nil {
			restore()
			return err
		}
		return nil
	})
}

// CheckIn verifies the rulesets in the pod at netnsPath.
func CheckIn(netnsPath string, sets []Ruleset) error {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error { return Check(sets) })
}

// Del removes the egress interface's NAT from the pod at netnsPath. A
// missing or empty netns means there is nothing to undo. Forwarding goes
// back off when this was the pod's last egress attachment and one of them
// had turned it on (see ForwardingMarker).
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
	return netns.Do(func(ns.NetNS) error { return Remove(egressIf) })
}

// linksExist checks the interfaces the rules match on: iptables accepts
// any name, so a typo would install rules that never match.
func linksExist(sets []Ruleset) error {
	for _, rs := range sets {
		for _, name := range []string{rs.PreJump[1], rs.PostJump[1]} {
			if _, err := netlinksafe.LinkByName(name); err != nil {
				return cnierr.Config("interface %q (clusterInterface or the egress interface) not found in the pod: %v", name, err)
			}
		}
	}
	return nil
}
