package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/chain/testnet"
)

// seed001 is the egress router NAD config of seed 001 (OpenShift's
// documentation), byte for byte; the test network uses its addresses.
const seed001 = `{
    "cniVersion": "0.4.0",
    "type": "egress-router",
    "name": "egress-router",
    "ip": {
      "addresses": [
        "192.168.12.99/24"
        ],
      "destinations": [
        "192.168.12.91/32"
        ],
      "gateway": "192.168.12.1"
      }
    }`

var seq atomic.Int32

// pod is a router pod on a fresh test network, with runtime-style calls of
// the egress-router binary from the node namespace.
type pod struct {
	topo *testnet.Topology
	bin  string
}

func newPod(t *testing.T) *pod {
	t.Helper()
	nstest.Need(t)
	bin := nstest.BinDir(t)
	topo, err := testnet.Up(fmt.Sprintf("er%d-%d-", os.Getpid()%10000, seq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Down(); err != nil {
			t.Errorf("topology down: %v", err)
		}
	})
	return &pod{topo: topo, bin: bin}
}

func (p *pod) call(cmd string) nstest.Call {
	return nstest.Call{Command: cmd, ContainerID: "ctr-" + p.topo.Prefix, Netns: nstest.Path(p.topo.Router),
		IfName: "net1", Path: p.bin, RunIn: p.topo.Node}
}

// run invokes egress-router with c and stdin and fails on an exec error.
func run(t *testing.T, c nstest.Call, stdin string) nstest.Outcome {
	t.Helper()
	plugin := filepath.Join(p0(c.Path), "egress-router")
	out, err := nstest.Run(plugin, c, []byte(stdin))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// p0 is the folder holding egress-router: the last CNI_PATH entry, so
// tests can put a folder of doctored plugins first.
func p0(path string) string {
	parts := strings.Split(path, ":")
	return parts[len(parts)-1]
}

// ok fails unless the call succeeded, and returns stdout.
func ok(t *testing.T, what string, o nstest.Outcome) string {
	t.Helper()
	if o.ExitCode != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", what, o.ExitCode, o.Stdout, o.Stderr)
	}
	return o.Stdout
}

func result(t *testing.T, out string) *current.Result {
	t.Helper()
	r, err := create.CreateFromBytes([]byte(out))
	if err != nil {
		t.Fatalf("result %q: %v", out, err)
	}
	res, err := current.NewResultFromResult(r)
	if err != nil {
		t.Fatalf("convert result: %v", err)
	}
	return res
}

// withPrev adds a prevResult to a JSON config object.
func withPrev(conf, prev string) string {
	i := strings.LastIndex(conf, "}")
	return conf[:i] + `, "prevResult": ` + prev + "}"
}

// sh runs a command inside a namespace.
func sh(t *testing.T, netns string, argv ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", netns}, argv...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v: %s", strings.Join(argv, " "), netns, err, out)
	}
	return string(out)
}

func wantLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n--- got\n%s\n--- want\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sysctl(t *testing.T, netns, key string) string {
	return strings.TrimSpace(sh(t, netns, "cat", "/proc/sys/"+strings.ReplaceAll(key, ".", "/")))
}

// pluginDir makes a CNI_PATH folder holding links to some of bin's
// plugins, for runs where a delegate must be missing.
func pluginDir(t *testing.T, bin string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(filepath.Join(bin, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rawVersion is the cniVersion a result was printed in.
func rawVersion(t *testing.T, out string) string {
	t.Helper()
	var v struct {
		CNIVersion string `json:"cniVersion"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("result %q: %v", out, err)
	}
	return v.CNIVersion
}

// trimmed splits output into trimmed non-empty lines.
func trimmed(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
