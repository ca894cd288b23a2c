package netx

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// threadNS is the inode of the calling thread's netns.
func threadNS(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func nsIno(t *testing.T, n ns.NetNS) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(n.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func newTestNS(t *testing.T) ns.NetNS {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to make a netns")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(); _ = testutils.UnmountNS(n) })
	return n
}

// Inside runs f in the netns and brings the thread back, also when f
// fails.
func TestInside(t *testing.T) {
	n := newTestNS(t)
	want := nsIno(t, n)
	for _, fail := range []bool{false, true} {
		var in uint64
		before := threadNS(t)
		err := Inside(n, func() error {
			in = threadNS(t)
			if fail {
				return os.ErrInvalid
			}
			return nil
		})
		if (err != nil) != fail {
			t.Errorf("fail=%v: err %v", fail, err)
		}
		if in != want {
			t.Errorf("fail=%v: f ran in netns %d, want the pod's %d", fail, in, want)
		}
		if after := threadNS(t); after != before {
			t.Errorf("fail=%v: the thread stayed in netns %d, was %d", fail, after, before)
		}
	}
}

// A panic in f leaves the thread in the pod. Inside must not hand that
// thread back to the scheduler, or any goroutine (the one starting the
// interface plugin among them) could run on it there: the goroutine that
// panicked keeps it, and every wake-up of that goroutine resumes on it.
func TestInsidePanicKeepsTheThread(t *testing.T) {
	n := newTestNS(t)
	pod := nsIno(t, n)
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 4; i++ {
		// Other runnable goroutines, so an unlocked goroutine would move.
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
	}
	done := make(chan string, 1)
	go func() {
		tid := 0
		defer func() {
			_ = recover()
			for i := 0; i < 200; i++ {
				time.Sleep(50 * time.Microsecond)
				if got := unix.Gettid(); got != tid {
					done <- fmt.Sprintf("after the panic the goroutine moved from thread %d to %d: the pod's thread went back to the scheduler", tid, got)
					return
				}
			}
			var st unix.Stat_t
			if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil || st.Ino != pod {
				done <- fmt.Sprintf("the kept thread is not in the pod (%v)", err)
				return
			}
			// This goroutine ends locked: the runtime ends its thread.
			done <- ""
		}()
		_ = Inside(n, func() error {
			tid = unix.Gettid()
			panic("f failed")
		})
	}()
	if msg := <-done; msg != "" {
		t.Error(msg)
	}
	if threadNS(t) == pod {
		t.Error("the test's own thread is in the pod")
	}
}

// A pod's handle reaches the pod and only the pod, and Pods opens each
// path once.
func TestPodsShareOneHandle(t *testing.T) {
	n := newTestNS(t)
	var ps Pods
	defer ps.Close()
	a, err := ps.Open(n.Path())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ps.Open(n.Path())
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("Open twice opened the netns twice")
	}
	h, err := a.Netlink()
	if err != nil {
		t.Fatal(err)
	}
	if h2, _ := b.Netlink(); h2.Handle != h.Handle {
		t.Error("a second Netlink opened a second socket")
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "egress-tst0"}, PeerName: "egress-tst1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("adding a veth pair in the pod: %v", err)
	}
	if _, err := h.LinkByName("egress-tst1"); err != nil {
		t.Errorf("the handle does not see the pod's link: %v", err)
	}
	if _, err := netlink.LinkByName("egress-tst0"); err == nil {
		t.Error("the pod's link shows in the test's own netns: the handle is not the pod's")
	}
	l, _ := h.LinkByName("egress-tst0")
	if addrs, err := AddrList(h, l, netlink.FAMILY_ALL); err != nil || len(addrs) != 0 {
		t.Errorf("AddrList of a fresh veth: %v %v", addrs, err)
	}
}

func TestPodsGone(t *testing.T) {
	var ps Pods
	defer ps.Close()
	for i := 0; i < 2; i++ {
		if p, err := ps.OpenIfThere("/var/run/netns/egress-no-such-ns"); p != nil || err != nil {
			t.Errorf("missing netns: %v %v", p, err)
		}
	}
	if _, err := ps.Open("/var/run/netns/egress-no-such-ns"); err == nil {
		t.Error("Open of a missing netns succeeded")
	}
}
