// Package nsutil holds the network-namespace chores shared by the tests,
// the demo and the conformance suite: running iproute2 batches in a named
// namespace, setting sysctls there, and snapshotting a namespace's
// network state for before/after comparisons. It never touches the
// namespace it is called from unless told to with netns "".
package nsutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
)

// Path returns a named namespace's bind-mount path; a name that is
// already a path (a pod's /proc/PID/ns/net) is returned as it is.
func Path(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join("/var/run/netns", name)
}

// IP runs one iproute2 batch in a namespace ("" = the current one).
func IP(netns string, cmds ...string) error {
	args := []string{"-b", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	cmd := exec.Command("ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip -n %s: %v: %s", netns, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Sysctls sets /proc/sys values inside a named namespace.
func Sysctls(name string, kv map[string]string) error {
	n, err := ns.GetNS(Path(name))
	if err != nil {
		return err
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error {
		for k, v := range kv {
			p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				return fmt.Errorf("%s: set %s=%s: %w", name, k, v, err)
			}
		}
		return nil
	})
}

// NoDAD makes IPv6 addresses usable at once (no duplicate address
// detection) for links created afterwards in a namespace.
var NoDAD = map[string]string{
	"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0",
}

// Forwarding turns on IPv4 and IPv6 forwarding.
var Forwarding = map[string]string{"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}

// Add creates a named namespace with lo up and no IPv6 DAD.
func Add(name string) error {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	if err := Sysctls(name, NoDAD); err != nil {
		return err
	}
	return IP(name, "link set lo up")
}

// Del deletes a named namespace if it exists.
func Del(name string) error {
	if _, err := os.Stat(Path(name)); err != nil {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
