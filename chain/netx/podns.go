package netx

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/egress-router/egress-router/chain/cnierr"
)

// Pod is a pod's network namespace with, once asked for, one netlink
// socket opened inside it. Every request through that socket reaches the
// pod without switching a thread into it, and without a socket of its
// own: on a small node each switch and each socket cost more than the
// request.
type Pod struct {
	ns.NetNS
	nl netlinksafe.Handle
}

// Netlink returns the pod's netlink handle, opening it on first use.
func (p *Pod) Netlink() (netlinksafe.Handle, error) {
	if p.nl.Handle != nil {
		return p.nl, nil
	}
	var h netlinksafe.Handle
	err := Inside(p, func() (err error) {
		h, err = netlinksafe.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return netlinksafe.Handle{}, fmt.Errorf("failed to open a netlink socket in the pod's netns %s: %w", p.Path(), err)
	}
	p.nl = h
	return h, nil
}

// Inside runs f on the calling thread switched into the netns n: for
// opening sockets there (a socket stays in the netns it was opened in)
// and running tools that act on the netns they start in. Unlike ns.Do it
// needs no second thread, which cost more than all of a command's other
// pod work on a small node.
//
// Every other thread of the process stays in the node's netns, so any
// goroutine not inside Inside runs there: the interface plugin is
// started from it, and the node is looked at from it. (While a thread
// is locked, the Go runtime makes new threads from its template thread,
// started by the first lock, before any switch.) The thread is
// therefore handed back to the scheduler only once it is back in the
// node's netns. If f panics or the switch back fails, it stays locked to
// this goroutine, and the runtime ends the thread with it (a panic ends
// the process).
func Inside(n ns.NetNS, f func() error) error {
	runtime.LockOSThread()
	node, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("failed to open the current netns: %w", err)
	}
	defer node.Close()
	if err := unix.Setns(int(n.Fd()), unix.CLONE_NEWNET); err != nil {
		// A failed setns leaves the thread where it was.
		runtime.UnlockOSThread()
		return fmt.Errorf("failed to enter the netns %s: %w", n.Path(), err)
	}
	ferr := f()
	if err := unix.Setns(int(node.Fd()), unix.CLONE_NEWNET); err != nil {
		panic(fmt.Sprintf("cannot return to the node's netns from %s: %v", n.Path(), err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Close closes the handle and the namespace.
func (p *Pod) Close() error {
	p.nl.Close()
	p.nl.Handle = nil
	return p.NetNS.Close()
}

// OpenPod opens the pod's network namespace (CNI_NETNS) for ADD and
// CHECK, where it must exist. The caller closes it.
func OpenPod(path string) (*Pod, error) {
	pod, err := ns.GetNS(path)
	if err != nil {
		return nil, cnierr.Env("CNI_NETNS %q: %v", path, err)
	}
	return &Pod{NetNS: pod}, nil
}

// OpenPodIfThere opens the pod's network namespace for DEL. An empty
// CNI_NETNS or a namespace that is already gone means there is nothing
// left to undo: it returns nil and no error.
func OpenPodIfThere(path string) (*Pod, error) {
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
	return &Pod{NetNS: pod}, nil
}

// Pods keeps the pod namespaces one command opened, each opened once for
// all its steps. The zero value is ready; Close closes them all. It may
// be used from two goroutines (egress-router's NAT step runs beside its
// interface plugin); a Pod's netlink handle is for one goroutine.
type Pods struct {
	mu   sync.Mutex
	open map[string]*Pod
	gone map[string]bool
}

// Open is OpenPod, shared.
func (ps *Pods) Open(path string) (*Pod, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.open[path]; p != nil {
		return p, nil
	}
	p, err := OpenPod(path)
	if err != nil {
		return nil, err
	}
	ps.keep(path, p)
	return p, nil
}

// OpenIfThere is OpenPodIfThere, shared.
func (ps *Pods) OpenIfThere(path string) (*Pod, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.open[path]; p != nil || ps.gone[path] {
		return p, nil
	}
	p, err := OpenPodIfThere(path)
	if err != nil {
		return nil, err
	}
	if p == nil {
		if ps.gone == nil {
			ps.gone = map[string]bool{}
		}
		ps.gone[path] = true
		return nil, nil
	}
	ps.keep(path, p)
	return p, nil
}

func (ps *Pods) keep(path string, p *Pod) {
	if ps.open == nil {
		ps.open = map[string]*Pod{}
	}
	ps.open[path] = p
}

// With runs f with the pod at path, opened through ps, which keeps it
// for the command's next steps; a nil ps opens it for this call only.
// With ifThere, a missing netns runs nothing and is no error (DEL).
func (ps *Pods) With(path string, ifThere bool, f func(*Pod) error) error {
	if ps == nil {
		ps = &Pods{}
		defer ps.Close()
	}
	open := ps.Open
	if ifThere {
		open = ps.OpenIfThere
	}
	pod, err := open(path)
	if err != nil || pod == nil {
		return err
	}
	return f(pod)
}

// Netlink runs f with the netlink handle of the pod at path (see With).
func (ps *Pods) Netlink(path string, ifThere bool, f func(netlinksafe.Handle) error) error {
	return ps.With(path, ifThere, func(pod *Pod) error {
		h, err := pod.Netlink()
		if err != nil {
			return cnierr.IO("%v", err)
		}
		return f(h)
	})
}

// Close closes every namespace opened.
func (ps *Pods) Close() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for path, p := range ps.open {
		_ = p.Close()
		delete(ps.open, path)
	}
	ps.gone = nil
}

// AddrList lists a link's addresses through h, retrying a dump the
// kernel interrupted (what netlinksafe does for the package functions).
func AddrList(h netlinksafe.Handle, l netlink.Link, family int) ([]netlink.Addr, error) {
	var addrs []netlink.Addr
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if addrs, err = h.AddrList(l, family); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return addrs, err
}
