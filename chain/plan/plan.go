// Package plan holds what one CNI call of ours does to one attachment,
// decided before anything is done, and the runner that does it.
//
// The config package builds a Plan: the interface plugin to delegate to
// (egress-router only; the chained plugins find the interface in
// prevResult), the routes, the NAT rulesets and the addresses to
// announce. The Runner applies a Plan's steps in order and, when one
// fails, undoes the ones before it newest first; it checks a Plan against
// the pod; and it tears an attachment down from a Teardown, which needs
// no Plan because everything is found again by its markers in the pod.
// Print writes a Plan as a dry run.
package plan

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/route"
)

// Plan is one attachment's work. It is a value: the runner never changes
// it.
type Plan struct {
	Pod        Pod
	CNIVersion string
	// Interface is the interface plugin egress-router runs; nil for the
	// chained plugins.
	Interface *Interface
	// Prev is the previous plugin's result: what a chained plugin passes
	// on (with its routes added), and what CHECK compares the pod with.
	Prev *current.Result
	// Routes and NAT are nil when the plan has no such step.
	Routes *route.Plan
	NAT    *NAT
	// Announce are the addresses to announce on the egress interface.
	Announce []net.IP
	// Warnings are what resolving the config decided that the log should
	// say (e.g. ConfigMap destinations the overrides left out); Notes are
	// for the debug log.
	Warnings, Notes []string
}

// Pod is the attachment the runtime names: CNI_CONTAINERID, CNI_NETNS
// and CNI_IFNAME.
type Pod struct {
	ContainerID, Netns, IfName string
}

// Interface is the interface step: the upstream plugin and its config.
type Interface struct {
	Conf Delegate
	// MasterHow says how the master was found, for logs and dry runs.
	MasterHow string
}

// NAT is the NAT step: the rulesets and the backend to install them with.
type NAT struct {
	Backend nat.Backend
	Sets    []nat.Ruleset
	// egressLater: the interface plugin is making the egress link while
	// the NAT goes in (see beside); the link is checked once it exists.
	egressLater bool
}

// beforeEgress is n installed beside the interface plugin.
func (n NAT) beforeEgress() NAT {
	n.egressLater = true
	return n
}

// Delegate is an interface plugin's config: upstream macvlan or ipvlan
// with static IPAM holding the reserved addresses and gateways. With
// CNIVersion and Name it is a standalone config for invoke; without, a
// conflist entry.
type Delegate struct {
	CNIVersion string `json:"cniVersion,omitempty"`
	Name       string `json:"name,omitempty"`
	Type       string `json:"type"`
	Master     string `json:"master,omitempty"`
	Mode       string `json:"mode,omitempty"`
	MTU        int    `json:"mtu,omitempty"`
	IPAM       IPAM   `json:"ipam"`
	// PrevResult is set for CHECK, as the spec asks.
	PrevResult json.RawMessage `json:"prevResult,omitempty"`
	// ValidAttachments is set for GC (spec 1.1).
	ValidAttachments json.RawMessage `json:"cni.dev/valid-attachments,omitempty"`
}

// IPAM is the static IPAM plugin's config.
type IPAM struct {
	Type      string          `json:"type"`
	Addresses []StaticAddress `json:"addresses"`
}

// StaticAddress is one address static IPAM assigns.
type StaticAddress struct {
	Address string `json:"address"`
	Gateway string `json:"gateway,omitempty"`
}

// StaticIPAM is the IPAM plugin the interface step uses.
const StaticIPAM = "static"

// Teardown is what DEL undoes. It needs no Plan: routes and NAT are found
// by their markers in the pod, and the interface plugin needs only its
// type and IPAM to delete.
type Teardown struct {
	Pod Pod
	// Interface is the interface plugin's config, nil for the chained
	// plugins.
	Interface *Delegate
	// Routes and NAT say which of our steps to undo.
	Routes, NAT bool
	// Leftovers: remove what an interface plugin killed half-way left in
	// the pod (a link under its temporary name).
	Leftovers bool
}

// chain reports whether the plan runs the whole chain in-process (the
// egress-router plugin): its errors then say which step failed.
func (p Plan) chain() bool { return p.Interface != nil }

// Details are what the debug log says of the plan before it runs.
func (p Plan) Details() string {
	var parts []string
	if p.Interface != nil {
		parts = append(parts, fmt.Sprintf("master %s (%s)", p.Interface.Conf.Master, p.Interface.MasterHow))
	}
	if p.Routes != nil {
		parts = append(parts, fmt.Sprintf("addresses %v, gateways %v, kept on %s: %v", p.Routes.Addrs, p.Routes.Gateways, p.Routes.Cluster, p.Routes.ViaCluster))
	}
	return strings.Join(parts, "; ")
}

// String summarizes the plan for the ADD log line.
func (p Plan) String() string {
	var parts []string
	if p.Interface != nil {
		d := p.Interface.Conf
		s := fmt.Sprintf("%s on %s mode %s", d.Type, d.Master, d.Mode)
		if d.MTU > 0 {
			s += fmt.Sprintf(" mtu %d", d.MTU)
		}
		parts = append(parts, s)
	}
	if p.Routes != nil {
		parts = append(parts, fmt.Sprint(p.Routes.Addrs))
	}
	if p.NAT != nil {
		parts = append(parts, fmt.Sprintf("%d NAT rulesets", len(p.NAT.Sets)))
	}
	return strings.Join(parts, ", ")
}
