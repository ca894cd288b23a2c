package route

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/attach"
	"github.com/egress-router/egress-router/chain/cnierr"
)

// plan computes the attachment's routes: the master is looked up from the
// current (host) netns, the rest inside the pod netns.
func plan(netns ns.NetNS, cfg *Config, eg *attach.Egress) (*Plan, error) {
	parent := 0
	err := netns.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(eg.IfName)
		if err != nil {
			return cnierr.Config("egress interface %q not found in the pod: %v", eg.IfName, err)
		}
		// A parent in another netns (link-netnsid set) is the master on the
		// host; one in the pod itself says nothing about the host.
		if l.Attrs().NetNsID >= 0 {
			parent = l.Attrs().ParentIndex
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	masterIPs := cfg.MasterIPs
	if masterIPs == nil && !cfg.NoMasterRoutes {
		m, err := FindMaster(parent, eg.Addrs)
		if err != nil {
			return nil, fmt.Errorf("master host route: %v (set masterIPs, or masterRoutes false)", err)
		}
		masterIPs = m.IPs
	}
	var p *Plan
	err = netns.Do(func(ns.NetNS) error {
		egress, cluster, err := PodLinks(eg.IfName, cfg.ClusterInterface)
		if err != nil {
			return err
		}
		if p, err = MakePlan(cfg, eg, egress, cluster, masterIPs, ClusterGateway(cluster)); err != nil {
			return err
		}
		if len(p.Families) == 0 {
			return cnierr.Config("gateway: none configured and no address of %q in prevResult has one %v; set gateway", eg.IfName, eg.Addrs)
		}
		return nil
	})
	return p, err
}

// Add installs the attachment's routes in the pod at netnsPath and returns
// them for the CNI result. On failure the pod's routes are as before.
func Add(netnsPath string, cfg *Config, eg *attach.Egress) ([]*types.Route, error) {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return nil, cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	p, err := plan(netns, cfg, eg)
	if err != nil {
		return nil, err
	}
	var added []*types.Route
	err = netns.Do(func(ns.NetNS) error {
		added, err = p.Apply()
		return err
	})
	return added, err
}

// Check verifies the attachment's routes in the pod at netnsPath.
func Check(netnsPath string, cfg *Config, eg *attach.Egress) error {
	netns, err := ns.GetNS(netnsPath)
	if err != nil {
		return cnierr.Env("CNI_NETNS %q: %v", netnsPath, err)
	}
	defer netns.Close()
	p, err := plan(netns, cfg, eg)
	if err != nil {
		return err
	}
	return netns.Do(func(ns.NetNS) error { return p.Check() })
}

// Del removes the routes this step owns and restores the cluster default
// route. A missing or empty netns means there is nothing to undo.
func Del(netnsPath string) error {
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
	return netns.Do(func(ns.NetNS) error { return Remove() })
}

// ParseCIDRs parses a config field's networks, naming the field and value
// on error.
func ParseCIDRs(field string, vals []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for i, v := range vals {
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return nil, cnierr.Config("%s[%d] %q is not a CIDR", field, i, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseIPs parses a config field's addresses, naming the field and value
// on error.
func ParseIPs(field string, vals []string) ([]net.IP, error) {
	out := make([]net.IP, 0, len(vals))
	for i, v := range vals {
		ip := net.ParseIP(v)
		if ip == nil {
			return nil, cnierr.Config("%s[%d] %q is not an IP address", field, i, v)
		}
		out = append(out, ip)
	}
	return out, nil
}
