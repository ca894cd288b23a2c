package nat

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/coreos/go-iptables/iptables"

	"github.com/egress-router/egress-router/chain/netx"
)

// iptablesBackend writes the rulesets with one iptables-restore per
// family, run on the thread switched into the pod, after reading what is
// there (iptHave: over netlink, or one iptables-save).
type iptablesBackend struct{}

// xtablesWait bounds how long a rule change waits for the xtables lock,
// so a stuck lock holder fails the ADD instead of hanging it.
const xtablesWait = 30

func newIPT(f netx.Family) (*iptables.IPTables, error) {
	proto := iptables.ProtocolIPv4
	if f == netx.V6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(xtablesWait))
	if err != nil {
		return nil, fmt.Errorf("%s iptables is not usable: %w", f, err)
	}
	return ipt, nil
}

func tool(f netx.Family, name string) string {
	if f == netx.V6 {
		return "ip6" + name
	}
	return "ip" + name
}

// ipSave returns the parsed `iptables-save` of a family in the current
// netns, every table in one run.
func ipSave(f netx.Family) (tables, error) {
	cmd := tool(f, "tables-save")
	var out, errb bytes.Buffer
	c := exec.Command(cmd)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(errb.String()))
	}
	return parseSave(out.String()), nil
}

// ipRestore applies a payload for a family in one transaction
// (iptables-restore --noflush), instead of one process per rule.
func ipRestore(f netx.Family, p payload) error {
	cmd := tool(f, "tables-restore")
	var errb bytes.Buffer
	c := exec.Command(cmd, "-w", strconv.Itoa(xtablesWait), "--noflush")
	c.Stdin, c.Stderr = strings.NewReader(p.text()), &errb
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(errb.String()))
	}
	return nil
}

func (iptablesBackend) apply(p pod, sets []Ruleset, markForwarding []netx.Family) (err error) {
	var done []Ruleset
	defer func() {
		if err != nil {
			for _, rs := range done {
				// This ADD's marker goes too; the caller puts the old
				// forwarding values back.
				if have, serr := iptHave(p, rs.Family); serr == nil {
					p, h := removeLines(have, rs.Egress)
					if h.marker && contains(markForwarding, rs.Family) {
						p[tableNAT] = append(p[tableNAT], "-X "+iptMarker)
					}
					_ = ipRestore(rs.Family, p)
				}
			}
		}
	}()
	for _, rs := range sets {
		have, err := iptHave(p, rs.Family)
		if err != nil {
			return fmt.Errorf("%s iptables is not usable: %w", rs.Family, err)
		}
		done = append(done, rs)
		if err := ipRestore(rs.Family, applyLines(have, rs, contains(markForwarding, rs.Family))); err != nil {
			return fmt.Errorf("failed to install the %s nat rules: %w", rs.Family, err)
		}
	}
	return nil
}

func (iptablesBackend) check(p pod, sets []Ruleset) error {
	for _, rs := range sets {
		have, err := ipSave(rs.Family)
		if err != nil {
			return fmt.Errorf("%s iptables is not usable: %w", rs.Family, err)
		}
		if err := checkSaved(have, rs); err != nil {
			return err
		}
	}
	return nil
}

func (b iptablesBackend) remove(p pod, egress string, fams []netx.Family) (map[netx.Family]holding, error) {
	return b.removeReleasing(p, egress, fams, nil)
}

// removeReleasing removes the egress interface's chains like remove and,
// for each family where release (called after iptables-save, with what
// it found) says so, drops the forwarding marker in the same
// iptables-restore: one process fewer per DEL. release switches
// forwarding off itself, before that restore: a kill in between leaves
// the marker with forwarding off, which the next DEL finishes, never
// forwarding on without a marker.
func (iptablesBackend) removeReleasing(p pod, egress string, fams []netx.Family, release func(netx.Family, holding) bool) (map[netx.Family]holding, error) {
	held := map[netx.Family]holding{}
	for _, f := range fams {
		have, err := iptHave(p, f)
		if err != nil {
			// Only a missing tool means nothing of ours can be there.
			if errors.Is(err, exec.ErrNotFound) {
				continue
			}
			return held, fmt.Errorf("%s iptables cannot be read: %w", f, err)
		}
		pl, h := removeLines(have, egress)
		held[f] = h
		if release != nil && h.marker && release(f, h) {
			pl[tableNAT] = append(pl[tableNAT], "-X "+iptMarker)
		}
		if len(pl) == 0 {
			continue
		}
		if err := ipRestore(f, pl); err != nil {
			return held, fmt.Errorf("failed to remove the %s nat rules: %w", f, err)
		}
	}
	return held, nil
}

func (iptablesBackend) release(p pod, fams []netx.Family) error {
	for _, f := range fams {
		if err := ipRestore(f, payload{tableNAT: {"-X " + iptMarker}}); err != nil {
			return fmt.Errorf("failed to drop the %s forwarding marker: %w", f, err)
		}
	}
	return nil
}

func contains(fams []netx.Family, f netx.Family) bool {
	for _, g := range fams {
		if g == f {
			return true
		}
	}
	return false
}
