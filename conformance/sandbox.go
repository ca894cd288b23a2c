package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"

	"github.com/egress-router/egress-router/chain/nsutil"
)

// sandbox is the suite's namespaces: host (where plugins run), ext (the
// gateway beyond ext0) and the pods.
type sandbox struct {
	prefix, host, ext string
	pods              atomic.Int32
	hostLinks         []string // Target.HostLinks
}

var sandboxes atomic.Int32

func newSandbox(hostLinks []string) (s *sandbox, err error) {
	p := fmt.Sprintf("cnc%d-%d-", os.Getpid()%100000, sandboxes.Add(1))
	s = &sandbox{prefix: p, host: p + "host", ext: p + "ext", hostLinks: hostLinks}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	for _, n := range []string{s.host, s.ext} {
		if err := nsutil.Add(n); err != nil {
			return s, err
		}
	}
	if err := nsutil.Sysctls(s.host, nsutil.Forwarding); err != nil {
		return s, err
	}
	if err := nsutil.IP(s.host,
		"link add ext0 type veth peer name ext1 netns "+s.ext,
		"addr add 192.168.12.2/24 dev ext0", "addr add fd00:12::2/64 dev ext0 nodad", "link set ext0 up",
		"route add default via 192.168.12.1 dev ext0", "route add default via fd00:12::1 dev ext0",
		// A fixed address and a standing port keep the bridge's address
		// and carrier the same with or without pods.
		"link add cni0 address 02:00:0a:81:02:01 type bridge", "link set cni0 up",
		"link add cni0-port type veth peer name cni0-peer", "link set cni0-port master cni0",
		"link set cni0-port up", "link set cni0-peer up",
		"addr add 10.129.2.1/23 dev cni0", "addr add fd00:129::1/64 dev cni0 nodad",
	); err != nil {
		return s, err
	}
	if err := s.ensureHostLinks(); err != nil {
		return s, err
	}
	return s, nsutil.IP(s.ext, "addr add 192.168.12.1/24 dev ext1", "addr add fd00:12::1/64 dev ext1 nodad", "link set ext1 up")
}

// pod is one pod network namespace.
type pod struct {
	name, path string
	n          int
}

func (s *sandbox) newPod() (*pod, error) {
	n := int(s.pods.Add(1))
	if n > 400 {
		return nil, fmt.Errorf("sandbox: out of pod addresses")
	}
	if err := s.ensureHostLinks(); err != nil {
		return nil, err
	}
	p := &pod{name: fmt.Sprintf("%spod%d", s.prefix, n), n: n}
	p.path = nsutil.Path(p.name)
	if err := nsutil.Add(p.name); err != nil {
		return nil, err
	}
	// lo as a new namespace has it, down, for the runtime's loopback
	// plugin to bring up (nsutil.Add brings it up).
	if err := nsutil.IP(p.name, "link set lo down"); err != nil {
		s.delPod(p)
		return nil, err
	}
	host := fmt.Sprintf("vp%d", n)
	a4, a6 := fmt.Sprintf("10.129.%d.%d/23", 2+(30+n)/256, (30+n)%256), fmt.Sprintf("fd00:129::%x/64", 30+n)
	if err := nsutil.IP(s.host, "link add "+host+" type veth peer name eth0 netns "+p.name,
		"link set "+host+" master cni0", "link set "+host+" up"); err != nil {
		s.delPod(p)
		return nil, err
	}
	if err := nsutil.IP(p.name, "addr add "+a4+" dev eth0", "addr add "+a6+" dev eth0 nodad", "link set eth0 up",
		"route add default via 10.129.2.1 dev eth0", "route add default via fd00:129::1 dev eth0"); err != nil {
		s.delPod(p)
		return nil, err
	}
	return p, nil
}

// delPod removes a pod's veth, then its namespace. The veth goes first
// because a deleted namespace's links are removed asynchronously, and the
// host namespace must be back as it was when the suite compares it.
func (s *sandbox) delPod(p *pod) {
	_ = nsutil.IP(s.host, fmt.Sprintf("link del vp%d", p.n))
	_ = nsutil.Del(p.name)
}

// ensureHostLinks makes each of the target's host links whose pair is
// not in the host namespace (the first time, or after the pod holding
// it was deleted, which deletes a veth), always with the same index and
// address. The peer is what shows the pair exists: the link itself may
// be in a pod.
func (s *sandbox) ensureHostLinks() error {
	for i, name := range s.hostLinks {
		if len(name) > 14 {
			return fmt.Errorf("host link %q: longer than 14 characters", name)
		}
		if nsutil.IP(s.host, "link show "+name+"p") == nil {
			continue
		}
		_ = nsutil.IP(s.host, "link del "+name)
		if err := nsutil.IP(s.host,
			fmt.Sprintf("link add %s index %d address 02:cc:00:00:%02x:00 type veth peer name %sp index %d address 02:cc:00:00:%02x:01",
				name, 3000+2*i, i, name, 3001+2*i, i),
			// down, and without IPv6 addresses, so the peer looks the
			// same whatever the plugin does with the link
			"link set "+name+"p addrgenmode none", "link set "+name+" addrgenmode none"); err != nil {
			return fmt.Errorf("host link %s: %w", name, err)
		}
	}
	return nil
}

// supports reports whether the kernel can make links of a kind, by
// making one in the host namespace and removing it.
func (s *sandbox) supports(kind string) error {
	args := []string{"-n", s.host, "link", "add", "cnc-probe", "link", "ext0", "type", kind}
	// the kinds that cannot be made without a parameter
	switch kind {
	case "vlan":
		args = append(args, "id", "4094")
	case "vrf":
		args = append(args, "table", "4094")
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("this kernel has no %s (%s)", kind, strings.TrimSpace(string(out)))
	}
	_ = nsutil.IP(s.host, "link del cnc-probe")
	return nil
}

func (s *sandbox) close() {
	for i := int32(1); i <= s.pods.Load(); i++ {
		_ = nsutil.Del(fmt.Sprintf("%spod%d", s.prefix, i))
	}
	_ = nsutil.Del(s.host)
	_ = nsutil.Del(s.ext)
}
