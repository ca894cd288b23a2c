package plan

import "time"

// beside runs one step on a goroutine of its own while the command waits
// on something else: egress-router's NAT step runs while the address
// probe listens and the interface plugin's process runs, so its time is
// off the attachment's critical path. A Go program's main goroutine is
// locked to the thread that stays in the node's netns; the step enters
// the pod on a thread of its own (netx.Inside), so the interface
// plugin's exec, from the main thread, still starts on the node.
type beside struct {
	done chan struct{}
	took time.Duration
	err  error
}

func runBeside(f func() error) *beside {
	b := &beside{done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t0 := time.Now()
		b.err = f()
		b.took = time.Since(t0)
	}()
	return b
}

// wait returns the step's error once it is done; every call returns the
// same.
func (b *beside) wait() error {
	<-b.done
	return b.err
}
