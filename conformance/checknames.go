package conformance

import (
	"slices"
	"strings"
)

// checkNames are the suite's checks, as report rows name them. Test
// needs them to tell a known failure that names no check at all (a typo,
// a check since renamed) from one whose check this run did not get to
// (every check skipped): the report of such a run has no rows to look
// them up in. The suite's own tests hold every row it makes to this list.
var checkNames = []string{
	"version/json", "version/config", "version/echo", "version/unsupported",
	"add/result", "add/in-netns", "add/existing-ifname",
	"check/after-add", "check/address-removed", "check/interface-removed", "check/owned", "check/later-changes",
	"del/leaves-nothing", "del/twice", "del/empty-netns", "del/without-add", "del/netns-gone", "del/no-prev",
	"error/*", "error/no-command", "error/no-containerid", "error/no-ifname", "error/no-netns", "error/malformed-json", "error/no-name",
	"error/unknown-command", "error/names-variable", "error/codes", "error/format",
	"chained/passes-prev", "chained/no-prev",
	"status", "gc", "concurrent/containers",
	"delegate/forwards", "delegate/same-env", "delegate/same-config", "delegate/stderr", "delegate/del-after-failure",
	"delegate/passes-errors", "delegate/ipam-result",
	"hygiene/stdout", "hygiene/no-panic", "hygiene/time", "hygiene/host",
}

// perPluginChecks are the checks run for each graded plugin on its own:
// where a target grades several, each row names the plugin's type after
// a space (suite.label).
var perPluginChecks = []string{
	"error/*", "version/unsupported", "error/no-command", "error/no-containerid", "error/no-ifname", "error/no-netns",
	"error/malformed-json", "error/no-name", "error/unknown-command", "chained/no-prev",
}

// requiresPrefix starts the one row of a run whose target requires a
// link kind the kernel lacks: every check is skipped, and it is none.
const requiresPrefix = "requires/"

// isCheck says whether name is a row a run of the suite can have: a
// check, with its argument where it takes one (add/result's version,
// check/owned's resource, a graded plugin's type).
func isCheck(name string) bool {
	base, arg, hasArg := strings.Cut(name, " ")
	switch {
	case base == "add/result":
		return slices.Contains(Versions, arg)
	case base == "check/owned:":
		return strings.TrimSpace(arg) != ""
	case !hasArg:
		return slices.Contains(checkNames, base)
	default:
		return slices.Contains(perPluginChecks, base) && arg != "" && !strings.Contains(arg, " ")
	}
}
