package config

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/proc"
)

// ipConfigHelper reads ConfigMaps; it is found in CNI_PATH. It is a
// separate binary so that client-go stays out of the plugins.
const ipConfigHelper = "egress-ipconfig"

// readIPConfig runs the helper for the ipConfig ConfigMap's data, under
// the policy's deadline. Its errors are CNI errors already (7 for a
// missing or forbidden ConfigMap, 11 when the API server is unreachable)
// and pass through unchanged.
func readIPConfig(n *RouterConf, env Env) (map[string]string, error) {
	ns, name, err := n.IPConfig.Where(env)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := n.kubeconfig(env)
	if err != nil {
		return nil, err
	}
	helper, err := invoke.FindInPath(ipConfigHelper, filepath.SplitList(env.Path))
	if err != nil {
		return nil, cnierr.Config("ipConfig ConfigMap %s/%s: reading it needs %s in CNI_PATH: %v", ns, name, ipConfigHelper, err)
	}
	bound := env.policy().ChildTimeout()
	// The helper's own API timeout ends before our deadline, so a slow
	// API server is reported as such rather than killed.
	apiSeconds := max(int(bound.Seconds())-2, 1)
	req, _ := json.Marshal(map[string]any{"kubeconfig": kubeconfig, "namespace": ns, "name": name, "timeoutSeconds": apiSeconds})
	out, errb, runErr := proc.Run(context.Background(), bound, helper, req, os.Environ())
	if runErr != nil {
		var te types.Error
		if !errors.Is(runErr, proc.ErrDeadline) && json.Unmarshal(out, &te) == nil && te.Code != 0 {
			return nil, &te
		}
		return nil, cnierr.TryAgain("ipConfig ConfigMap %s/%s: %s: %v: %s", ns, name, ipConfigHelper, runErr, strings.TrimSpace(string(errb)))
	}
	var resp struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Data == nil {
		return nil, cnierr.IO("ipConfig ConfigMap %s/%s: unreadable answer from %s: %q", ns, name, ipConfigHelper, out)
	}
	return resp.Data, nil
}
