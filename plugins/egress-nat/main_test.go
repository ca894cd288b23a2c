package main

import (
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
)

// TestMain points the plugins these tests start at a test policy (logs in
// a temporary folder).
func TestMain(m *testing.M) { nstest.Main(m) }
