package nstest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Go's net package has no SCTP. A one-to-one SCTP socket (SOCK_STREAM) is
// driven with the same calls as TCP, so it is made here with syscalls and
// handed to net as a file: the result behaves as a TCP listener or conn,
// with deadlines, and reports the peer's address like TCP.

func sctpSockaddr(addr string) (syscall.Sockaddr, int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("sctp address %q: %w", addr, err)
	}
	if ap.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, syscall.AF_INET, nil
	}
	return &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, syscall.AF_INET6, nil
}

// sctpSocket makes a socket of addr's family, and addr as a Sockaddr.
func sctpSocket(addr string) (int, syscall.Sockaddr, error) {
	sa, family, err := sctpSockaddr(addr)
	if err != nil {
		return -1, nil, err
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_SCTP)
	if err != nil {
		return -1, nil, fmt.Errorf("sctp socket: %w", err)
	}
	return fd, sa, nil
}

// sctpListen listens on addr ("ip:port") in the calling thread's netns.
func sctpListen(addr string) (net.Listener, error) {
	fd, sa, err := sctpSocket(addr)
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("sctp bind %s: %w", addr, err)
	}
	if err := syscall.Listen(fd, 16); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("sctp listen %s: %w", addr, err)
	}
	f := os.NewFile(uintptr(fd), "sctp-listener")
	defer f.Close()
	return net.FileListener(f)
}

// sctpDial connects to addr from the calling thread's netns.
func sctpDial(addr string, timeout time.Duration) (net.Conn, error) {
	fd, sa, err := sctpSocket(addr)
	if err != nil {
		return nil, err
	}
	// SCTP's connect waits for the association at most the send timeout.
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("sctp SO_SNDTIMEO: %w", err)
	}
	if err := syscall.Connect(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("sctp connect %s: %w", addr, err)
	}
	f := os.NewFile(uintptr(fd), "sctp-conn")
	defer f.Close()
	return net.FileConn(f)
}
