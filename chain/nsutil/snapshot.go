package nsutil

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

// Snapshot is a namespace's links, addresses, routes (every table), policy
// rules and iptables rules, as text, for before/after comparisons.
type Snapshot map[string]string

// counters and per-boot details that change without anyone changing
// config, and the warning ip prints when it resolves a link's peer netns
// name while another test deletes some other namespace (a kernel extack
// for the vanished one, not a change here).
var volatile = regexp.MustCompile(`(?m)^#.*$|\[\d+:\d+\]|valid_lft \S+|preferred_lft \S+|counter packets \d+ bytes \d+|^Error: Peer netns reference is invalid\.\n?`)

// snapshotParts are the commands a snapshot runs, by part.
var snapshotParts = []struct{ key, cmd string }{
	{"links", "ip -o link show"},
	{"addrs", "ip -o addr show"},
	{"routes4", "ip -4 route show table all"},
	{"routes6", "ip -6 route show table all"},
	{"rules4", "ip -4 rule show"},
	{"rules6", "ip -6 rule show"},
	{"ipt4", "iptables-save"},
	{"ipt6", "ip6tables-save"},
	{"nft", "nft list ruleset"},
}

// Take snapshots the namespace netns ("" = the current one). All parts
// come from one shell, entered into the namespace once: tests take
// snapshots around every call.
func Take(netns string) (Snapshot, error) {
	var script strings.Builder
	script.WriteString("set +e\n")
	for _, p := range snapshotParts {
		// The command's output, then a marker line with its exit status.
		script.WriteString(p.cmd + " 2>&1; printf '\\n@@@ egress-snapshot %s %d\\n' " + p.key + " $?\n")
	}
	argv := []string{"sh", "-c", script.String()}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("snapshot of %q: %w: %s", netns, err, errb.String())
	}
	s := Snapshot{}
	rest := out.String()
	for _, p := range snapshotParts {
		marker := "\n@@@ egress-snapshot " + p.key + " "
		i := strings.Index(rest, marker)
		if i < 0 {
			return nil, fmt.Errorf("snapshot of %q: no %s part in %q", netns, p.key, rest)
		}
		text := rest[:i]
		line, after, _ := strings.Cut(rest[i+len(marker):], "\n")
		rest = after
		if line != "0" {
			return nil, fmt.Errorf("snapshot of %q: %s: exit %s: %s", netns, p.cmd, line, text)
		}
		text = volatile.ReplaceAllString(text, "")
		if strings.HasPrefix(p.key, "ipt") {
			text = dropEmptyTables(text)
		}
		if p.key == "nft" {
			text = dropXtablesTables(text)
		}
		s[p.key] = strings.TrimSpace(text)
	}
	return s, nil
}

// dropEmptyTables removes iptables-save tables with no rules and no user
// chains. Listing or using a table makes iptables-nft create it, and an
// empty table with ACCEPT policies changes nothing.
func dropEmptyTables(save string) string {
	var out, block []string
	empty := true
	for _, l := range strings.Split(save, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "*"):
			block, empty = []string{l}, true
		case l == "COMMIT":
			if !empty {
				out = append(append(out, block...), l)
			}
			block = nil
		default:
			block = append(block, l)
			f := strings.Fields(l)
			builtinAccept := len(f) >= 2 && strings.HasPrefix(l, ":") && f[1] == "ACCEPT"
			if !builtinAccept {
				empty = false
			}
		}
	}
	return strings.Join(out, "\n")
}

// dropXtablesTables removes the tables iptables-nft keeps in nftables
// (the ipt parts already hold them, and listing them creates them).
func dropXtablesTables(ruleset string) string {
	var out []string
	skip := false
	for _, l := range strings.Split(ruleset, "\n") {
		if strings.HasPrefix(l, "table ") {
			f := strings.Fields(l)
			skip = len(f) >= 3 && (f[2] == "filter" || f[2] == "nat" || f[2] == "mangle" || f[2] == "raw" || f[2] == "security")
		}
		if !skip {
			out = append(out, l)
		}
		if l == "}" {
			skip = false
		}
	}
	return strings.Join(out, "\n")
}

// Diff describes what differs between two snapshots ("" when equal), in
// a stable order.
func (s Snapshot) Diff(after Snapshot) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if a := after[k]; a != s[k] {
			fmt.Fprintf(&b, "%s changed:\n--- before\n%s\n--- after\n%s\n", k, s[k], a)
		}
	}
	return b.String()
}

// Rules keeps only the rule lines (-A) of the iptables parts, dropping
// chain declarations: a plugin may leave a shared, empty base chain behind
// (portmap's CNI-HOSTPORT-DNAT) without leaving anything that acts.
func (s Snapshot) Rules() Snapshot {
	out := Snapshot{}
	for k, v := range s {
		if strings.HasPrefix(k, "ipt") {
			var keep []string
			for _, l := range strings.Split(v, "\n") {
				if strings.HasPrefix(l, "-A ") {
					keep = append(keep, l)
				}
			}
			v = strings.Join(keep, "\n")
		}
		out[k] = v
	}
	return out
}

// Changes lists, per part, the lines only before has (-) and the lines
// only after has (+): a short form of Diff for one-line reports.
func (s Snapshot) Changes(after Snapshot) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if s[k] == after[k] {
			continue
		}
		count := map[string]int{}
		for _, l := range strings.Split(s[k], "\n") {
			count[strings.TrimSpace(l)]++
		}
		var added []string
		for _, l := range strings.Split(after[k], "\n") {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			if count[l] > 0 {
				count[l]--
				continue
			}
			added = append(added, "+ "+l)
		}
		var removed []string
		for _, l := range strings.Split(s[k], "\n") {
			l = strings.TrimSpace(l)
			if l != "" && count[l] > 0 {
				count[l]--
				removed = append(removed, "- "+l)
			}
		}
		parts = append(parts, k+": "+strings.Join(append(removed, added...), "; "))
	}
	return strings.Join(parts, " | ")
}
