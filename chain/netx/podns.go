package netx

import (
	"errors"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// OpenPod opens the pod's network namespace (CNI_NETNS) for ADD and
// CHECK, where it must exist. The caller closes it.
func OpenPod(path string) (ns.NetNS, error) {
	pod, err := ns.GetNS(path)
	if err != nil {
		return nil, cnierr.Env("CNI_NETNS %q: %v", path, err)
	}
	return pod, nil
}

// OpenPodIfThere opens the pod's network namespace for DEL. An empty
// CNI_NETNS or a namespace that is already gone means there is nothing
// left to undo: it returns nil and no error.
func OpenPodIfThere(path string) (ns.NetNS, error) {
	if path == "" {
		return nil, nil
	}
	pod, err := ns.GetNS(path)
	if err != nil {
		var gone ns.NSPathNotExistErr
		if errors.As(err, &gone) {
			return nil, nil
		}
		return nil, cnierr.Env("CNI_NETNS %q: %v", path, err)
	}
	return pod, nil
}
