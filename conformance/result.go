package conformance

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/cni/pkg/types/create"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// rawResult is an ADD result read without the CNI library's help, so the
// suite sees exactly what the plugin printed.
type rawResult struct {
	CNIVersion string `json:"cniVersion"`
	Interfaces []struct {
		Name    string `json:"name"`
		Mac     string `json:"mac"`
		Sandbox string `json:"sandbox"`
	} `json:"interfaces"`
	IPs []struct {
		Version   string `json:"version"`
		Address   string `json:"address"`
		Gateway   string `json:"gateway"`
		Interface *int   `json:"interface"`
	} `json:"ips"`
	Routes []struct {
		Dst string `json:"dst"`
		GW  string `json:"gw"`
	} `json:"routes"`
}

// validateResult checks an ADD result against section 5 for the version
// it was asked for. creator says the graded plugins create ifName.
func validateResult(out []byte, version, netns, ifName string, creator bool) (*rawResult, []string) {
	var r rawResult
	if err := strictOne(out, &r); err != nil {
		return nil, []string{fmt.Sprintf("stdout is not one JSON result: %v", err)}
	}
	var bad []string
	if r.CNIVersion != version {
		bad = append(bad, fmt.Sprintf("cniVersion %q, want the config's %q", r.CNIVersion, version))
	}
	if _, err := create.Create(version, out); err != nil {
		bad = append(bad, fmt.Sprintf("libcni cannot read it as a %s result: %v", version, err))
	}
	found := false
	for i, itf := range r.Interfaces {
		if itf.Name == "" {
			bad = append(bad, fmt.Sprintf("interfaces[%d] has no name", i))
		}
		if itf.Mac != "" {
			if _, err := net.ParseMAC(itf.Mac); err != nil {
				bad = append(bad, fmt.Sprintf("interfaces[%d].mac %q: %v", i, itf.Mac, err))
			}
		}
		if itf.Name == ifName && itf.Sandbox == netns {
			found = true
		}
	}
	if creator && !found {
		bad = append(bad, fmt.Sprintf("no interface %q with sandbox %q", ifName, netns))
	}
	for i, ip := range r.IPs {
		addr, _, err := net.ParseCIDR(ip.Address)
		if err != nil {
			bad = append(bad, fmt.Sprintf("ips[%d].address %q is not CIDR", i, ip.Address))
			continue
		}
		if ip.Gateway != "" && net.ParseIP(ip.Gateway) == nil {
			bad = append(bad, fmt.Sprintf("ips[%d].gateway %q is not an IP", i, ip.Gateway))
		}
		if ip.Interface != nil && (*ip.Interface < 0 || *ip.Interface >= len(r.Interfaces)) {
			bad = append(bad, fmt.Sprintf("ips[%d].interface %d is not an index into %d interfaces", i, *ip.Interface, len(r.Interfaces)))
		}
		if strings.HasPrefix(version, "0.3.") {
			want := "6"
			if addr.To4() != nil {
				want = "4"
			}
			if ip.Version != want {
				bad = append(bad, fmt.Sprintf("ips[%d].version %q, want %q; 0.3.x results name each address's IP version", i, ip.Version, want))
			}
		}
	}
	for i, rt := range r.Routes {
		if _, _, err := net.ParseCIDR(rt.Dst); err != nil {
			bad = append(bad, fmt.Sprintf("routes[%d].dst %q is not CIDR", i, rt.Dst))
		}
		if rt.GW != "" && net.ParseIP(rt.GW) == nil {
			bad = append(bad, fmt.Sprintf("routes[%d].gw %q is not an IP", i, rt.GW))
		}
	}
	return &r, bad
}

// inNetns checks that the interfaces the result puts in the pod, and
// their addresses, are there.
func inNetns(r *rawResult, netnsPath string) []string {
	var bad []string
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		for i, itf := range r.Interfaces {
			if itf.Sandbox != netnsPath {
				continue
			}
			l, err := netlink.LinkByName(itf.Name)
			if err != nil {
				bad = append(bad, fmt.Sprintf("interfaces[%d] %q is not in the pod: %v", i, itf.Name, err))
				continue
			}
			have := l.Attrs().HardwareAddr.String()
			if have == "" {
				// netlink leaves lo's all-zero address out; ip shows it
				have = "00:00:00:00:00:00"
			}
			if itf.Mac != "" && !strings.EqualFold(itf.Mac, have) {
				bad = append(bad, fmt.Sprintf("interfaces[%d] %q has mac %s, the result says %s", i, itf.Name, l.Attrs().HardwareAddr, itf.Mac))
			}
		}
		for i, ip := range r.IPs {
			if ip.Interface == nil || *ip.Interface >= len(r.Interfaces) || r.Interfaces[*ip.Interface].Sandbox != netnsPath {
				continue
			}
			name := r.Interfaces[*ip.Interface].Name
			want, err := netlink.ParseAddr(ip.Address)
			if err != nil {
				continue // reported by validateResult
			}
			l, err := netlink.LinkByName(name)
			if err != nil {
				continue // reported above
			}
			have, err := netlink.AddrList(l, netlink.FAMILY_ALL)
			if err != nil {
				return err
			}
			ok := false
			for _, a := range have {
				ok = ok || a.IPNet.String() == want.IPNet.String()
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("ips[%d] %s is not on %q in the pod", i, ip.Address, name))
			}
		}
		return nil
	})
	if err != nil {
		bad = append(bad, fmt.Sprintf("cannot look into the pod: %v", err))
	}
	return bad
}

// carries checks that out holds every interface and address of prev
// (section 5: a chained plugin passes prevResult on).
func carries(prev, out []byte) []string {
	var p, o rawResult
	if err := json.Unmarshal(prev, &p); err != nil {
		return []string{fmt.Sprintf("prevResult unreadable: %v", err)}
	}
	if err := json.Unmarshal(out, &o); err != nil {
		return []string{fmt.Sprintf("result unreadable: %v", err)}
	}
	var bad []string
	for _, pi := range p.Interfaces {
		ok := false
		for _, oi := range o.Interfaces {
			ok = ok || (oi.Name == pi.Name && oi.Sandbox == pi.Sandbox && strings.EqualFold(oi.Mac, pi.Mac))
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("interface %q (sandbox %q) of prevResult is missing", pi.Name, pi.Sandbox))
		}
	}
	for _, pa := range p.IPs {
		ok := false
		for _, oa := range o.IPs {
			ok = ok || oa.Address == pa.Address
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("address %s of prevResult is missing", pa.Address))
		}
	}
	return bad
}
