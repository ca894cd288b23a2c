package egressrouter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/egress-router/egress-router/chain/config"
	"github.com/egress-router/egress-router/chain/nad"
)

// DefaultImage is the router pod's only container: it runs nothing, the
// redirect is NAT in the pod's network namespace (deploy/kubernetes/router.yaml).
const DefaultImage = "registry.k8s.io/pause:3.10"

// RouterLabel selects one router's pod: the resource's name.
const RouterLabel = "egress-router.io/router"

// Options are what the resource does not say.
type Options struct {
	// Namespace overrides metadata.namespace (default "default").
	Namespace string
	// Image is the router container's image (default DefaultImage).
	Image string
}

// Objects are what Render makes, in the order they are applied.
type Objects struct {
	NAD        *nadv1.NetworkAttachmentDefinition
	Deployment *appsv1.Deployment
	Service    *corev1.Service
	// Router is the egress-router config in the NAD, as the plugin reads it.
	Router *config.Router
}

// routerConf is the part of an egress-router config a resource fills in
// (config.IP would drop an empty destinations list, which means "routes
// only").
type routerConf struct {
	CNIVersion    string            `json:"cniVersion"`
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	IP            ipConf            `json:"ip"`
	InterfaceType string            `json:"interfaceType"`
	InterfaceArgs map[string]string `json:"interfaceArgs"`
}

type ipConf struct {
	Addresses    []string `json:"addresses"`
	Destinations []string `json:"destinations"`
	Gateway      []string `json:"gateway,omitempty"`
	FallbackIP   string   `json:"fallbackIP,omitempty"`
}

// Config is the egress-router config the resource means: every address
// with its gateway, each rule as a destination line, the fallback, and
// the macvlan master and mode.
func (er *EgressRouter) Config() ([]byte, error) {
	ip := ipConf{Addresses: []string{}, Destinations: []string{}}
	for _, a := range er.Spec.Addresses {
		ip.Addresses = append(ip.Addresses, a.IP)
		if a.Gateway != "" {
			ip.Gateway = append(ip.Gateway, a.Gateway)
		}
	}
	if r := er.Spec.Redirect; r != nil {
		for _, rule := range r.RedirectRules {
			d := fmt.Sprintf("%d %s %s", *rule.Port, rule.Protocol, rule.DestinationIP)
			if rule.TargetPort != nil {
				d += fmt.Sprintf(" %d", *rule.TargetPort)
			}
			ip.Destinations = append(ip.Destinations, d)
		}
		ip.FallbackIP = r.FallbackIP
	}
	args := map[string]string{"mode": strings.ToLower(er.Spec.NetworkInterface.Macvlan.Mode)}
	if m := er.Spec.NetworkInterface.Macvlan.Master; m != "" {
		args["master"] = m
	}
	return json.Marshal(routerConf{CNIVersion: "1.0.0", Name: er.Name, Type: "egress-router", IP: ip,
		InterfaceType: "macvlan", InterfaceArgs: args})
}

// Render makes the NAD, Deployment and Service for a parsed resource. The
// config goes through the plugin's own validation first, so what is
// refused here would be refused at ADD.
func Render(er *EgressRouter, o Options) (*Objects, error) {
	conf, err := er.Config()
	if err != nil {
		return nil, err
	}
	c, err := config.ParseRouter(conf, config.Env{})
	if err != nil {
		return nil, fmt.Errorf("spec: the egress-router config it renders is refused: %w", err)
	}
	ns := o.Namespace
	if ns == "" {
		ns = er.Namespace
	}
	if ns == "" {
		ns = "default"
	}
	image := o.Image
	if image == "" {
		image = DefaultImage
	}
	n, err := nad.Render(c, ns, er.Name, nad.Single)
	if err != nil {
		return nil, err
	}
	return &Objects{NAD: n, Deployment: deployment(er.Name, ns, image), Service: service(er, ns, len(c.Addrs) == 2), Router: c}, nil
}

func deployment(name, ns, image string) *appsv1.Deployment {
	labels := map[string]string{RouterLabel: name}
	// Failover: replaced on another node 10 s after its node is marked
	// not ready or unreachable, not Kubernetes' 300 (docs/operations.md).
	toleration := func(key string) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](10)}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			// Recreate: a rollout never runs two pods with the address;
			// the ADD's address probe covers evictions.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": name}},
				Spec: corev1.PodSpec{
					Tolerations: []corev1.Toleration{toleration("node.kubernetes.io/not-ready"), toleration("node.kubernetes.io/unreachable")},
					Containers: []corev1.Container{{
						Name: "egress-router", Image: image,
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("8Mi")}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65535),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

// service is the Service the API promises: the rules' ports, or, for a
// router with no rules (everything to the fallback), a headless Service
// whose name leads to the pod on any port.
func service(er *EgressRouter, ns string, dualStack bool) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: er.Name, Namespace: ns, Labels: map[string]string{RouterLabel: er.Name}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{RouterLabel: er.Name}},
	}
	seen := map[string]bool{}
	if r := er.Spec.Redirect; r != nil {
		for _, rule := range r.RedirectRules {
			name := fmt.Sprintf("%s-%d", strings.ToLower(rule.Protocol), *rule.Port)
			if seen[name] {
				continue
			}
			seen[name] = true
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: name, Protocol: corev1.Protocol(rule.Protocol),
				Port: int32(*rule.Port), TargetPort: intstr.FromInt32(int32(*rule.Port))})
		}
	}
	if len(svc.Spec.Ports) == 0 {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	// A dual-stack router (the config holds one address per family) gets
	// a Service of each family.
	if dualStack {
		svc.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyPreferDualStack)
	}
	return svc
}

// YAML prints the objects as one YAML stream, ready for kubectl apply.
func (o *Objects) YAML() ([]byte, error) {
	var b bytes.Buffer
	for i, obj := range []any{o.NAD, o.Deployment, o.Service} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}
