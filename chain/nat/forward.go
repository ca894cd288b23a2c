package nat

import (
	"fmt"
	"os"
	"strings"

	"github.com/egress-router/egress-router/chain/netx"
)

// ForwardingSysctl is the switch that lets the pod forward DNATed
// connections, as sysctl names it. net.ipv6.ip_forward does not exist;
// IPv6 uses conf.all.
func ForwardingSysctl(f netx.Family) string {
	if f == netx.V6 {
		return "net.ipv6.conf.all.forwarding"
	}
	return "net.ipv4.ip_forward"
}

func forwardingPath(f netx.Family) string {
	return "/proc/sys/" + strings.ReplaceAll(ForwardingSysctl(f), ".", "/")
}

// enableForwarding turns forwarding on for the families in the current
// netns. For those whose forwarding was off, the backend has recorded a
// marker inside the pod (an empty table or chain) before, so that the
// last attachment's removal turns forwarding off again without any state
// file on the host. It returns the families it switched on and a
// function that restores the previous values.
func enableForwarding(fams []netx.Family) (switched []netx.Family, restore func(), err error) {
	var undo []func()
	restore = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	for _, f := range fams {
		path := forwardingPath(f)
		old, err := os.ReadFile(path)
		if err != nil {
			restore()
			return nil, func() {}, fmt.Errorf("failed to read %s: %w", path, err)
		}
		if strings.TrimSpace(string(old)) == "1" {
			continue
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			restore()
			return nil, func() {}, fmt.Errorf("failed to enable %s forwarding (%s): %w", f, path, err)
		}
		switched = append(switched, f)
		undo = append(undo, func() { _ = os.WriteFile(path, old, 0o644) })
	}
	return switched, restore, nil
}

// forwardingOff lists the families whose forwarding is off in the
// current netns.
func forwardingOff(fams []netx.Family) ([]netx.Family, error) {
	var off []netx.Family
	for _, f := range fams {
		on, err := forwardingOn(f)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s forwarding: %w", f, err)
		}
		if !on {
			off = append(off, f)
		}
	}
	return off, nil
}

func disableForwarding(f netx.Family) error {
	return os.WriteFile(forwardingPath(f), []byte("0"), 0o644)
}

// forwardingOn reports whether forwarding is on for a family in the
// current netns.
func forwardingOn(f netx.Family) (bool, error) {
	b, err := os.ReadFile(forwardingPath(f))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

// checkForwarding verifies forwarding is on for the rulesets' families in
// the current netns.
func checkForwarding(sets []Ruleset) error {
	for _, rs := range sets {
		on, err := forwardingOn(rs.Family)
		if err != nil {
			return fmt.Errorf("failed to read %s forwarding: %w", rs.Family, err)
		}
		if !on {
			return fmt.Errorf("IPv%d forwarding is off in the pod (%s)", rs.Family, forwardingPath(rs.Family))
		}
	}
	return nil
}
