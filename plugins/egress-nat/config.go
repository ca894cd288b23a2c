package main

import (
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/logging"
	"github.com/egress-router/egress-router/chain/nat"
)

// NetConf is egress-nat's configuration: the CNI basics, the NAT options
// and logging.
type NetConf struct {
	types.NetConf
	nat.Options
	logging.Settings
}

func parseConfig(stdin []byte) (*NetConf, *nat.Parsed, error) {
	conf := &NetConf{}
	if err := cnierr.Unmarshal(stdin, conf); err != nil {
		return nil, nil, err
	}
	p, err := conf.Options.Parse()
	if err != nil {
		return nil, nil, err
	}
	if _, err := logging.ParseLevel(conf.LogLevel); err != nil {
		return nil, nil, cnierr.Config("log_level: %v", err)
	}
	return conf, p, nil
}
