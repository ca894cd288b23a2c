package main

import (
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/route"
)

// NetConf is egress-route's configuration: the CNI basics, the route
// options and logging.
type NetConf struct {
	types.NetConf
	route.Options
	logging.Settings
}

// parseConfig decodes and validates stdin. Routes need the attachment, so
// they are computed later, by the command.
func parseConfig(stdin []byte) (*NetConf, *route.Config, error) {
	conf := &NetConf{}
	if err := cnierr.Unmarshal(stdin, conf); err != nil {
		return nil, nil, err
	}
	cfg, err := conf.Options.Config()
	if err != nil {
		return nil, nil, err
	}
	if _, err := logging.ParseLevel(conf.LogLevel); err != nil {
		return nil, nil, cnierr.Config("log_level: %v", err)
	}
	return conf, cfg, nil
}
