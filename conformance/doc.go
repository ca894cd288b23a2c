// Package conformance grades a CNI plugin, or a conflist, against the
// plugin-facing rules of the CNI specification (up to 1.1.0).
//
// It runs the plugins the way a runtime does (one process per call,
// parameters in the environment, config on stdin) inside throwaway
// network namespaces it builds and removes: a "host" namespace the plugins
// run in, an "ext" namespace beyond the host's ext0 link, and one pod
// namespace per attachment. Nothing outside those namespaces is touched.
//
//	host: ext0 192.168.12.2/24, fd00:12::2/64 (a macvlan/ipvlan master),
//	      default via 192.168.12.1 and fd00:12::1;
//	      bridge cni0 10.129.2.1/23, fd00:129::1/64 with one veth per pod
//	ext:  ext1 192.168.12.1/24, fd00:12::1/64 (the gateway)
//	pod N: eth0 10.129.2.(31+N)/23, fd00:129::(31+N)/64, default routes via cni0
//
// A config under test refers to ext0 as its master and to the
// 192.168.12.0/24 (fd00:12::/64) network for its addresses.
//
// Each check is a row of the report: its name, the spec section it
// comes from, PASS, FAIL or SKIP, and why.
package conformance
