// Package cnierrtest checks CNI errors in tests: one assertion for every
// package's "this input is refused with this code and says why" tests.
package cnierrtest

import (
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// Want fails t unless err is a *types.Error itself (not wrapped: a
// wrapped error would print as plain text, not as a CNI error object)
// with the code, whose message holds every fragment. It returns the error.
func Want(t testing.TB, err error, code uint, fragments ...string) *types.Error {
	t.Helper()
	te, ok := err.(*types.Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *types.Error", err, err)
	}
	if te.Code != code {
		t.Errorf("code %d, want %d; message %q", te.Code, code, te.Msg)
	}
	for _, f := range fragments {
		if !strings.Contains(te.Msg, f) {
			t.Errorf("message %q lacks %q", te.Msg, f)
		}
	}
	return te
}
