// Package nad renders an egress-router config as a Kubernetes
// NetworkAttachmentDefinition, with the NAD client's own types, in either
// form Multus accepts: the single egress-router plugin or the conflist.
//
// It is kept out of package config so the plugins never link the
// Kubernetes API machinery.
package nad

import (
	"encoding/json"
	"fmt"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/egress-router/egress-router/chain/config"
)

// Form is the shape of the NAD's spec.config.
type Form string

const (
	// Single is one "type": "egress-router" plugin config.
	Single Form = "single"
	// Conflist is the chain: interface plugin, egress-route, egress-nat.
	Conflist Form = "conflist"
)

// Render builds the NAD. name defaults to the network's name.
func Render(c *config.Router, namespace, name string, form Form) (*nadv1.NetworkAttachmentDefinition, error) {
	var v any
	switch form {
	case Single:
		v = c.Single()
	case Conflist:
		v = c.Conflist()
	default:
		return nil, fmt.Errorf("form %q: use %q or %q", form, Single, Conflist)
	}
	cfg, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = c.Name
	}
	return &nadv1.NetworkAttachmentDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: nadv1.SchemeGroupVersion.String(), Kind: "NetworkAttachmentDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       nadv1.NetworkAttachmentDefinitionSpec{Config: string(cfg)},
	}, nil
}
