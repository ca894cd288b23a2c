package config

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// ipConfigHelper reads ConfigMaps; it is found in CNI_PATH. It is a
// separate binary so that client-go stays out of the plugins.
const ipConfigHelper = "egress-ipconfig"

// readIPConfig runs the helper for the ipConfig ConfigMap's data. Its
// errors are CNI errors already (7 for a missing or forbidden ConfigMap,
// 11 when the API server is unreachable) and pass through unchanged.
func readIPConfig(n *RouterConf, env Env) (map[string]string, error) {
	ns, name, err := n.IPConfig.Where(env.PodNamespace)
	if err != nil {
		return nil, err
	}
	helper, err := invoke.FindInPath(ipConfigHelper, filepath.SplitList(env.Path))
	if err != nil {
		return nil, cnierr.Config("ipConfig ConfigMap %s/%s: reading it needs %s in CNI_PATH: %v", ns, name, ipConfigHelper, err)
	}
	req, _ := json.Marshal(map[string]any{"kubeconfig": n.kubeconfigPath(), "namespace": ns, "name": name, "timeoutSeconds": 10})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, helper)
	cmd.Stdin = bytes.NewReader(req)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if runErr := cmd.Run(); runErr != nil {
		var te types.Error
		if json.Unmarshal(out.Bytes(), &te) == nil && te.Code != 0 {
			return nil, &te
		}
		return nil, cnierr.TryAgain("ipConfig ConfigMap %s/%s: %s: %v: %s", ns, name, ipConfigHelper, runErr, strings.TrimSpace(errb.String()))
	}
	var resp struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || resp.Data == nil {
		return nil, cnierr.IO("ipConfig ConfigMap %s/%s: unreadable answer from %s: %q", ns, name, ipConfigHelper, out.String())
	}
	return resp.Data, nil
}
