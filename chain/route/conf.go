package route

import (
	"github.com/egress-router/egress-router/chain/cnierr"
)

// DefaultClusterInterface is the pod's cluster-network interface name.
const DefaultClusterInterface = "eth0"

// Options are egress-route's configuration fields. The egress-route plugin
// reads them at the top of its config; egress-router passes them through.
type Options struct {
	ClusterInterface string   `json:"clusterInterface,omitempty"`
	ClusterCIDRs     []string `json:"clusterCIDRs,omitempty"`
	ServiceCIDRs     []string `json:"serviceCIDRs,omitempty"`
	Gateway          string   `json:"gateway,omitempty"`
	MasterIPs        []string `json:"masterIPs,omitempty"`
	MasterRoutes     *bool    `json:"masterRoutes,omitempty"`
}

// Config validates the options and applies defaults.
func (o *Options) Config() (*Config, error) {
	c := &Config{ClusterInterface: o.ClusterInterface}
	if c.ClusterInterface == "" {
		c.ClusterInterface = DefaultClusterInterface
	}
	if err := ValidateIfName("clusterInterface", c.ClusterInterface); err != nil {
		return nil, err
	}
	cl, err := ParseCIDRs("clusterCIDRs", o.ClusterCIDRs)
	if err != nil {
		return nil, err
	}
	svc, err := ParseCIDRs("serviceCIDRs", o.ServiceCIDRs)
	if err != nil {
		return nil, err
	}
	c.ViaCluster = append(cl, svc...)
	if o.Gateway != "" {
		gws, err := ParseIPs("gateway", []string{o.Gateway})
		if err != nil {
			return nil, cnierr.Config("gateway %q is not an IP address", o.Gateway)
		}
		c.Gateways = gws
	}
	if o.MasterRoutes != nil && !*o.MasterRoutes {
		if len(o.MasterIPs) > 0 {
			return nil, cnierr.Config("masterIPs %v is set but masterRoutes is false; remove one", o.MasterIPs)
		}
		c.NoMasterRoutes = true
	}
	if o.MasterIPs != nil {
		if c.MasterIPs, err = ParseIPs("masterIPs", o.MasterIPs); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ValidateIfName checks a Linux interface name.
func ValidateIfName(field, name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return cnierr.Config("%s %q is not a valid interface name (1-15 characters)", field, name)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r == 0x7f {
			return cnierr.Config("%s %q is not a valid interface name (no '/', ':' or white space)", field, name)
		}
	}
	return nil
}
