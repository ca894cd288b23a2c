// This module is an example of a plugin's CI adopting the conformance
// suite: a go test in a module of its own that grades a plugin found in
// CNI_PATH. Run it as root (the suite builds network namespaces):
//
//	CNI_PATH=/opt/cni/bin go test ./...
//
// Here it grades the upstream macvlan plugin with static IPAM; put your
// plugin's config in its place. make test runs it against bin/.
package myplugin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/egress-router/egress-router/conformance"
)

func TestConformance(t *testing.T) {
	path := os.Getenv("CNI_PATH")
	if path == "" {
		t.Skip("set CNI_PATH to the folder holding the plugins")
	}
	tg := &conformance.Target{
		Name: "macvlan + static",
		// The suite's sandbox gives the plugin ext0 as a master on
		// 192.168.12.0/24 (see the conformance package's documentation).
		Config: json.RawMessage(`{"cniVersion": "1.1.0", "name": "example", "type": "macvlan", "master": "ext0",
			"ipam": {"type": "static", "addresses": [{"address": "192.168.12.99/24", "gateway": "192.168.12.1"}]}}`),
		CNIPath: filepath.SplitList(path),
	}
	rep := conformance.Test(t, tg, map[string]string{
		// skel answers a call without CNI_COMMAND with its about text and exit status 0
		"error/no-command": "containernetworking/cni skel",
		// skel answers VERSION with the newest version it knows, not the one asked
		"version/echo": "containernetworking/cni skel",
		// macvlan has no GC (FIXME in its main.go), so static never gets one
		"delegate/forwards": "macvlan does not forward GC to its IPAM plugin",
		// macvlan's cmdAdd shadows err where it calls IPAM: a failed IPAM ADD
		// neither runs IPAM DEL nor removes the new link
		"delegate/del-after-failure": "macvlan leaves its link and skips IPAM DEL when IPAM ADD fails",
	})
	if rep.Count(conformance.Pass) < 25 {
		t.Errorf("only %d checks passed", rep.Count(conformance.Pass))
	}
}
