package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/egress-router/egress-router/chain/cnierr"
	"github.com/egress-router/egress-router/chain/proc"
)

// BoundedExec runs the interface plugin like invoke's default, but under
// a deadline and in a process group of its own (see proc): a plugin that
// hangs, or leaves a child holding its output, fails the call within the
// bound instead of holding the pod's sandbox for ever.
type BoundedExec struct {
	version.PluginDecoder
	Timeout time.Duration
}

var _ invoke.Exec = &BoundedExec{}

// ExecPlugin runs one plugin command.
func (e *BoundedExec) ExecPlugin(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	out, errb, err := proc.Run(ctx, e.Timeout, path, stdin, environ)
	if len(errb) > 0 {
		_, _ = os.Stderr.Write(errb)
	}
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, proc.ErrDeadline):
		return nil, cnierr.TryAgain("%v", err)
	}
	// As invoke does: the plugin's CNI error when it printed one.
	var te types.Error
	if len(out) > 0 && json.Unmarshal(out, &te) == nil && te.Code != 0 {
		return nil, &te
	}
	msg := fmt.Sprintf("%s failed: %v", filepath.Base(path), err)
	if len(errb) > 0 {
		msg = fmt.Sprintf("%s failed: %q: %v", filepath.Base(path), errb, err)
	}
	return nil, &types.Error{Code: types.ErrInternal, Msg: msg}
}

// FindInPath finds a plugin in CNI_PATH, as invoke does.
func (*BoundedExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}
