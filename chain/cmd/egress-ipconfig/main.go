// egress-ipconfig reads an ipConfig ConfigMap from the Kubernetes API for
// egress-router. It is a separate binary so client-go stays out of the
// plugins: egress-router runs it (from CNI_PATH) only when a config uses
// ipConfig, and every other attachment starts without the weight.
//
// Input on stdin: {"kubeconfig": PATH, "namespace": NS, "name": NAME,
// "timeoutSeconds": N}. Output on stdout: {"data": {KEY: JSON}}, each
// value converted from YAML to JSON (a ConfigMap written by hand may use
// either), or a CNI error object and exit status 1: code 7 when the
// ConfigMap is missing or access is denied, code 11 (try again later)
// when the API server cannot be reached.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

type request struct {
	Kubeconfig     string `json:"kubeconfig"`
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
}

func main() {
	out, err := run(os.Stdin)
	if err != nil {
		_ = err.Print()
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func run(in io.Reader) (map[string]map[string]string, *types.Error) {
	var req request
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, fmt.Sprintf("egress-ipconfig: request: %v", err), "")
	}
	where := req.Namespace + "/" + req.Name
	cfg, err := clientcmd.BuildConfigFromFlags("", req.Kubeconfig)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipConfig ConfigMap %s: kubeconfig %q: %v", where, req.Kubeconfig, err), "")
	}
	timeout := time.Duration(req.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cfg.Timeout = timeout
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipConfig ConfigMap %s: %v", where, err), "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cm, err := client.CoreV1().ConfigMaps(req.Namespace).Get(ctx, req.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipConfig ConfigMap %s: not found", where), "")
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipConfig ConfigMap %s: access denied (the kubeconfig's identity needs get on configmaps): %v", where, err), "")
	case err != nil:
		return nil, types.NewError(types.ErrTryAgainLater, fmt.Sprintf("ipConfig ConfigMap %s: the API server (%s) cannot be reached: %v", where, cfg.Host, err), "")
	}
	data := map[string]string{}
	for k, v := range cm.Data {
		j, err := yaml.YAMLToJSON([]byte(v))
		if err != nil {
			return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipConfig ConfigMap %s: %s is neither JSON nor YAML: %v", where, k, err), "")
		}
		data[k] = string(j)
	}
	return map[string]map[string]string{"data": data}, nil
}
