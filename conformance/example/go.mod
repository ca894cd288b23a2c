module example.com/myplugin

go 1.26.0

require github.com/egress-router/egress-router v0.0.0

require (
	github.com/containernetworking/cni v1.3.1 // indirect
	github.com/containernetworking/plugins v1.9.1 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

// In your module, require a released version instead.
replace github.com/egress-router/egress-router => ../..
