// Package egressrouter reads OpenShift's EgressRouter resource
// (network.operator.openshift.io/v1) and renders what the Cluster Network
// Operator would, for any Kubernetes: a NetworkAttachmentDefinition with
// the egress-router config, the router Deployment and its Service. Unlike
// the operator it carries every address, the macvlan master and mode
// through, renders the Service the API promises, and names everything
// after the resource so several routers fit in one namespace.
//
// Data flows one way: Parse (the CRD's schema and our checks) → Render
// (through config.ParseRouter, the plugin's own validation) → objects.
package egressrouter

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion and Kind name the resource.
const (
	APIVersion = "network.operator.openshift.io/v1"
	Kind       = "EgressRouter"
)

// EgressRouter has exactly the CRD's fields; anything else is refused.
type EgressRouter struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec `json:"spec"`
	// Status is the operator's; it is read and ignored.
	Status map[string]any `json:"status,omitempty"`
}

// Spec is spec.
type Spec struct {
	Mode             string            `json:"mode,omitempty"`
	Redirect         *Redirect         `json:"redirect,omitempty"`
	NetworkInterface *NetworkInterface `json:"networkInterface,omitempty"`
	Addresses        []Address         `json:"addresses"`
}

// Redirect is spec.redirect.
type Redirect struct {
	RedirectRules []Rule `json:"redirectRules,omitempty"`
	FallbackIP    string `json:"fallbackIP,omitempty"`
}

// Rule is one spec.redirect.redirectRules entry. Port and TargetPort are
// pointers so a missing port is told from port 0.
type Rule struct {
	DestinationIP string `json:"destinationIP"`
	Port          *int   `json:"port"`
	Protocol      string `json:"protocol"`
	TargetPort    *int   `json:"targetPort,omitempty"`
}

// NetworkInterface is spec.networkInterface: macvlan is the only member.
type NetworkInterface struct {
	Macvlan *Macvlan `json:"macvlan,omitempty"`
}

// Macvlan is spec.networkInterface.macvlan.
type Macvlan struct {
	Mode   string `json:"mode,omitempty"`
	Master string `json:"master,omitempty"`
}

// Address is one spec.addresses entry.
type Address struct {
	IP      string `json:"ip"`
	Gateway string `json:"gateway,omitempty"`
}
