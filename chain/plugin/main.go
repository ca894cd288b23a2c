// Package plugin is the entry point our three plugins share: it owns what
// every main would otherwise repeat. It answers the CNI commands through
// skel, opens the configured logger, writes the ADD and DEL log lines,
// and hands each command to config (parse, resolve, plan) and then to
// the plan's runner.
//
// Unlike upstream plugins it does not lock the main goroutine to its
// thread: no thread but one inside netx.Inside ever leaves the node's
// netns, so any thread will do, and a locked main goroutine made every
// other goroutine (the NAT step beside the interface plugin, exec's
// output copiers, nftables reads) wake a second thread.
package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/utils/buildversion"

	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/netx"
)

// Versions are the spec versions every plugin of ours supports.
var Versions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

// start is when the process began running Go code, for step timings.
var start = time.Now()

// Main runs plugin p through skel. Run without CNI_COMMAND, skel would
// print what the binary is and exit 0; the spec asks for an error (code
// 4) whenever a required variable is missing, so the "about" line goes to
// stderr here and skel answers with the error.
func Main(p config.Plugin) {
	// One process answers one command: its exit closes the pods it opened.
	c := commands{plugin: p, pods: &netx.Pods{}}
	// DEL must succeed whatever its config: skel refuses a config that is
	// not JSON, has no name or an unknown version before calling us, and
	// a runtime would retry that teardown for ever.
	if os.Getenv("CNI_COMMAND") == "DEL" {
		if err := c.delDirect(os.Stdin); err != nil {
			_ = err.Print()
			os.Exit(1)
		}
		return
	}
	if os.Getenv("CNI_COMMAND") == "VERSION" {
		if err := answerVersion(os.Stdin, os.Stdout); err != nil {
			_ = err.Print()
			os.Exit(1)
		}
		return
	}
	about := buildversion.BuildString(string(p))
	if os.Getenv("CNI_COMMAND") == "" {
		fmt.Fprintln(os.Stderr, about)
		about = ""
	}
	skel.PluginMainFuncs(skel.CNIFuncs{Add: c.add, Check: c.check, Del: c.del, GC: c.gc, Status: c.status}, Versions, about)
}

// answerVersion answers VERSION with the cniVersion it was asked at, as
// the spec's VERSION result wants; skel answers with the newest version
// the library knows whatever was asked. Without one on stdin, it answers
// as skel does.
func answerVersion(in io.Reader, out io.Writer) *types.Error {
	b, err := io.ReadAll(in)
	if err != nil {
		return types.NewError(types.ErrIOFailure, fmt.Sprintf("VERSION: reading stdin: %v", err), "")
	}
	var asked struct {
		CNIVersion string `json:"cniVersion"`
	}
	// Unreadable input is answered as skel would, not refused: VERSION
	// never failed before, and a runtime probes with it.
	if json.Unmarshal(b, &asked) != nil || asked.CNIVersion == "" {
		asked.CNIVersion = version.Current()
	}
	err = json.NewEncoder(out).Encode(map[string]any{"cniVersion": asked.CNIVersion, "supportedVersions": Versions.SupportedVersions()})
	if err != nil {
		return types.NewError(types.ErrIOFailure, fmt.Sprintf("VERSION: %v", err), "")
	}
	return nil
}
