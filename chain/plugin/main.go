// Package plugin is the entry point our three plugins share.
package plugin

import (
	"fmt"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/utils/buildversion"
)

// Versions are the spec versions every plugin of ours supports.
var Versions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

// Main runs a plugin through skel. Run without CNI_COMMAND, skel would
// print what the binary is and exit 0; the spec asks for an error (code
// 4) whenever a required variable is missing, so we print the "about"
// line on stderr ourselves and let skel answer with the error.
func Main(name string, funcs skel.CNIFuncs) {
	about := buildversion.BuildString(name)
	if os.Getenv("CNI_COMMAND") == "" {
		fmt.Fprintln(os.Stderr, about)
		about = ""
	}
	skel.PluginMainFuncs(funcs, Versions, about)
}
