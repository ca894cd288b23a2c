// Package dest parses egress destinations: the line syntax shared by the
// legacy openshift-sdn egress router (EGRESS_DESTINATION), egress-router-cni's
// ip.destinations and the operator's rendered NAD.
//
//	IP                          fallback: every other connection goes here
//	                            (last; at most one per address family)
//	IP/32 (or /128)             the same, in CIDR notation
//	PORT PROTO IP               connections to PORT go to IP:PORT
//	PORT PROTO IP REMOTEPORT    connections to PORT go to IP:REMOTEPORT
//
// PROTO is tcp, udp or sctp in any case; fields are split on any white
// space; a string may hold several lines; blank lines and # comments are
// ignored. Local ports are unique per protocol and address family.
package dest

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/netx"
)

// Protocols lists the accepted protocols, in the spelling iptables and nft use.
var Protocols = []string{"tcp", "udp", "sctp"}

// Rule redirects connections to one local port.
type Rule struct {
	Port       int    // local port on the cluster interface, 1-65535
	Proto      string // tcp, udp or sctp
	IP         net.IP // destination address
	RemotePort int    // destination port; equals Port when the line has no fourth field
}

// Set is a parsed destination list: per-port rules in order, then
// optional fallbacks for everything else, at most one per address family
// (IPv4 and IPv6 rules live in separate tables).
type Set struct {
	Rules     []Rule
	Fallbacks []net.IP
}

// Empty reports whether the set redirects nothing.
func (s Set) Empty() bool { return len(s.Rules) == 0 && len(s.Fallbacks) == 0 }

// IPs returns every destination address, rules first then the fallbacks.
func (s Set) IPs() []net.IP {
	out := make([]net.IP, 0, len(s.Rules)+len(s.Fallbacks))
	for _, r := range s.Rules {
		out = append(out, r.IP)
	}
	return append(out, s.Fallbacks...)
}

// Fallback returns the fallback of an address family, or nil.
func (s Set) Fallback(family netx.Family) net.IP {
	for _, ip := range s.Fallbacks {
		if netx.FamilyOf(ip) == family {
			return ip
		}
	}
	return nil
}

// String renders one rule back in the line syntax.
func (r Rule) String() string {
	if r.RemotePort == r.Port {
		return fmt.Sprintf("%d %s %s", r.Port, r.Proto, r.IP)
	}
	return fmt.Sprintf("%d %s %s %d", r.Port, r.Proto, r.IP, r.RemotePort)
}

// Lines renders the set in the line syntax, fallback last.
func (s Set) Lines() []string {
	out := make([]string, 0, len(s.Rules)+1)
	for _, r := range s.Rules {
		out = append(out, r.String())
	}
	for _, ip := range s.Fallbacks {
		out = append(out, ip.String())
	}
	return out
}

// Parse reads destination entries. field names the config field in error
// messages (e.g. "destinations" or "ip.destinations"); fallbackIP is the
// operator-style separate fallback ("" when absent), named fallbackField.
func Parse(field string, entries []string, fallbackField, fallbackIP string) (Set, error) {
	var set Set
	type key struct {
		family netx.Family
		proto  string
		port   int
	}
	seen := map[key]string{}
	fallbackLine := map[netx.Family]string{} // family -> line
	lastFallback := ""
	for i, entry := range entries {
		for _, raw := range strings.Split(entry, "\n") {
			line := raw
			if c := strings.IndexByte(line, '#'); c >= 0 {
				line = line[:c]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			where := fmt.Sprintf("%s[%d] %q", field, i, strings.TrimSpace(raw))
			if lastFallback != "" && len(fields) != 1 {
				return Set{}, cnierr.Config("%s: the fallback %q must be the last destination", where, lastFallback)
			}
			switch len(fields) {
			case 1:
				ip, err := parseHostIP(fields[0])
				if err != nil {
					return Set{}, cnierr.Config("%s: %v", where, err)
				}
				if prev, dup := fallbackLine[netx.FamilyOf(ip)]; dup {
					return Set{}, cnierr.Config("%s: a second IPv%d fallback after %q; only one fallback per address family", where, netx.FamilyOf(ip), prev)
				}
				set.Fallbacks = append(set.Fallbacks, ip)
				lastFallback = strings.TrimSpace(raw)
				fallbackLine[netx.FamilyOf(ip)] = lastFallback
			case 3, 4:
				r, err := parseRule(fields)
				if err != nil {
					return Set{}, cnierr.Config("%s: %v", where, err)
				}
				k := key{netx.FamilyOf(r.IP), r.Proto, r.Port}
				if prev, dup := seen[k]; dup {
					return Set{}, cnierr.Config("%s: local port %d/%s is already used by %q; local ports must be unique per protocol", where, r.Port, r.Proto, prev)
				}
				seen[k] = strings.TrimSpace(raw)
				set.Rules = append(set.Rules, r)
			default:
				return Set{}, cnierr.Config("%s: want \"IP\", \"PORT PROTO IP\" or \"PORT PROTO IP REMOTEPORT\", got %d fields", where, len(fields))
			}
		}
	}
	if fallbackIP != "" {
		ip, err := parseHostIP(strings.TrimSpace(fallbackIP))
		if err != nil {
			return Set{}, cnierr.Config("%s %q: %v", fallbackField, fallbackIP, err)
		}
		if prev, dup := fallbackLine[netx.FamilyOf(ip)]; dup {
			return Set{}, cnierr.Config("%s %q and the fallback destination %q in %s are both set; give only one", fallbackField, fallbackIP, prev, field)
		}
		set.Fallbacks = append(set.Fallbacks, ip)
	}
	return set, nil
}

func parseRule(fields []string) (Rule, error) {
	port, err := parsePort(fields[0])
	if err != nil {
		return Rule{}, fmt.Errorf("local port: %w", err)
	}
	proto := strings.ToLower(fields[1])
	if !isProtocol(proto) {
		return Rule{}, fmt.Errorf("unknown protocol %q (want tcp, udp or sctp)", fields[1])
	}
	ip, err := parseHostIP(fields[2])
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Port: port, Proto: proto, IP: ip, RemotePort: port}
	if len(fields) == 4 {
		if r.RemotePort, err = parsePort(fields[3]); err != nil {
			return Rule{}, fmt.Errorf("remote port: %w", err)
		}
	}
	return r, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %d is out of range 1-65535", p)
	}
	return p, nil
}

func isProtocol(p string) bool {
	for _, q := range Protocols {
		if p == q {
			return true
		}
	}
	return false
}

// parseHostIP accepts an address, or a CIDR covering exactly one host
// (/32 for IPv4, /128 for IPv6), as seed configs write "192.168.12.91/32".
func parseHostIP(s string) (net.IP, error) {
	if strings.Contains(s, "/") {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		if ones, bits := n.Mask.Size(); ones != bits {
			return nil, fmt.Errorf("%q is a network of more than one address; a destination is a single host (/%d)", s, bits)
		}
		return netx.Canonical(ip), nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address", s)
	}
	return netx.Canonical(ip), nil
}
