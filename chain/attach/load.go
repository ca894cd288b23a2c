package attach

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// PrevResult parses conf's prevResult (any version) into a 1.x result.
// It returns nil, nil when the config carries none.
func PrevResult(conf *types.NetConf) (*current.Result, error) {
	if conf.RawPrevResult == nil {
		return nil, nil
	}
	if err := version.ParsePrevResult(conf); err != nil {
		return nil, cnierr.Config("prevResult: cannot parse: %v", err)
	}
	res, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return nil, cnierr.Config("prevResult: cannot convert to version %s: %v", current.ImplementedSpecVersion, err)
	}
	return res, nil
}

// FromArgs finds the egress interface of this invocation in prevResult.
func FromArgs(res *current.Result, args *skel.CmdArgs) (*Egress, error) {
	return Find(res, args.Netns, args.IfName)
}
