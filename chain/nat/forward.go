package nat

import (
	"fmt"
	"os"
	"strings"
)

// forwardingSysctl is the switch that lets the pod forward DNATed
// connections. net.ipv6.ip_forward does not exist; IPv6 uses conf/all.
func forwardingSysctl(f Family) string {
	if f == 6 {
		return "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	return "/proc/sys/net/ipv4/ip_forward"
}

// ForwardingMarker is an empty nat chain that records, inside the pod,
// that forwarding was off before the first egress attachment turned it
// on. The last attachment's DEL turns it off again and drops the marker,
// so the pod ends as it began without any state file on the host.
const ForwardingMarker = "EGRESS-FORWARDING-WAS-OFF"

// EnableForwarding turns forwarding on for the families in the current
// netns. It returns the families it switched on and a function that
// restores the previous values.
func EnableForwarding(fams []Family) (switched []Family, restore func(), err error) {
	var undo []func()
	restore = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	for _, f := range fams {
		path := forwardingSysctl(f)
		old, err := os.ReadFile(path)
		if err != nil {
			restore()
			return nil, func() {}, fmt.Errorf("failed to read %s: %v", path, err)
		}
		if strings.TrimSpace(string(old)) == "1" {
			continue
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			restore()
			return nil, func() {}, fmt.Errorf("failed to enable IPv%d forwarding (%s): %v", f, path, err)
		}
		switched = append(switched, f)
		undo = append(undo, func() { _ = os.WriteFile(path, old, 0o644) })
	}
	return switched, restore, nil
}

func disableForwarding(f Family) error {
	return os.WriteFile(forwardingSysctl(f), []byte("0"), 0o644)
}

// ForwardingEnabled reports whether forwarding is on for a family in the
// current netns.
func ForwardingEnabled(f Family) (bool, error) {
	b, err := os.ReadFile(forwardingSysctl(f))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

// checkForwarding verifies forwarding is on for the rulesets' families in
// the current netns.
func checkForwarding(sets []Ruleset) error {
	for _, rs := range sets {
		on, err := ForwardingEnabled(rs.Family)
		if err != nil {
			return fmt.Errorf("failed to read IPv%d forwarding: %v", rs.Family, err)
		}
		if !on {
			return fmt.Errorf("IPv%d forwarding is off in the pod (%s)", rs.Family, forwardingSysctl(rs.Family))
		}
	}
	return nil
}
