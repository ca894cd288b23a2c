package conformance

// Why upstream plugins fail the delegate/* checks, merged into
// upstreamTargets' known failures (pinned build and Debian's), kept here
// so that those lists and these reasons can change apart.
const (
	whyNoGCFwd   = "no GC of its own (FIXME GC), so GC never reaches its IPAM plugin"
	whyNoIPAMDel = "returns at once when its IPAM plugin fails ADD, without IPAM DEL"
	whyMacvlan   = "cmdAdd declares err anew around ipam.ExecAdd, so a failed IPAM ADD runs no IPAM DEL (and the new link stays)"
	whyStderr    = "invoke copies a delegate's stderr only when it succeeds: the IPAM plugin's failed CHECK (address removed) is lost"
)

// delegateKnown maps a target to its delegate/* failures in the pinned
// build.
var delegateKnown = map[string]map[string]string{
	"macvlan":    {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyMacvlan},
	"host-local": {"delegate/forwards": "macvlan's: " + whyNoGCFwd, "delegate/del-after-failure": "macvlan's: " + whyMacvlan, "delegate/stderr": whyStderr},
	"dhcp":       {"delegate/forwards": "macvlan's: " + whyNoGCFwd, "delegate/del-after-failure": "macvlan's: " + whyMacvlan},
	"bridge":     {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyNoIPAMDel},
	"ptp":        {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyNoIPAMDel},
	"host-device": {"delegate/forwards": whyNoGCFwd + "; and DEL with an empty CNI_NETNS returns before IPAM DEL",
		"delegate/del-after-failure": whyNoIPAMDel},
	"tap": {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyNoIPAMDel},
	// graded in make test-kernels' VM; read in their source (no GC, and
	// a bare return when ipam.ExecAdd fails), as the others were seen
	"ipvlan": {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyNoIPAMDel},
	"vlan":   {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyNoIPAMDel},
	"dummy":  {"delegate/forwards": whyNoGCFwd, "delegate/del-after-failure": whyNoIPAMDel},
}

// delegateKnownDeb is the same for Debian's 1.1.1 build, graded at 1.0.0:
// no GC or STATUS calls, so only DEL and CHECK can go unforwarded.
var delegateKnownDeb = map[string]map[string]string{
	"macvlan":     {"delegate/del-after-failure": whyNoIPAMDel},
	"host-local":  {"delegate/del-after-failure": "macvlan's: " + whyNoIPAMDel, "delegate/stderr": whyStderr},
	"dhcp":        {"delegate/del-after-failure": "macvlan's: " + whyNoIPAMDel, "delegate/stderr": whyStderr},
	"bridge":      {"delegate/del-after-failure": whyNoIPAMDel},
	"ptp":         {"delegate/del-after-failure": whyNoIPAMDel},
	"host-device": {"delegate/forwards": "DEL with an empty CNI_NETNS returns before IPAM DEL", "delegate/del-after-failure": whyNoIPAMDel},
	// graded in the VM; the same bare return as the pinned build's source
	"ipvlan": {"delegate/del-after-failure": whyNoIPAMDel},
	"vlan":   {"delegate/del-after-failure": whyNoIPAMDel},
}

func init() {
	for i, u := range upstreamTargets {
		for k, v := range delegateKnown[u.name] {
			upstreamTargets[i].pinned[k] = v
		}
		for k, v := range delegateKnownDeb[u.name] {
			if u.deb != nil {
				upstreamTargets[i].deb[k] = v
			}
		}
	}
}
