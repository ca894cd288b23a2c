// Package config is the configuration model of our three plugins, in one
// place: the JSON each accepts (types.go; the route and NAT options are
// declared once and embedded where a plugin or a rendered conflist needs
// them), strict parsing and validation (Load), resolution against the
// node (the ipConfig ConfigMap, the master, the gateways), and the plan
// each config comes to (Attachment.Plan). It also renders an egress-router
// config as the equivalent conflist or canonical single config.
//
// Data flows one way: config builds a plan.Plan and hands it down; nothing
// below calls back up.
package config
