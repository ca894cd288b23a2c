// peerecho is the demo's external server and client. As a server it
// answers every TCP connection or UDP datagram with the address it came
// from, which is what a firewall outside the cluster would see. As a
// client it sends one request and prints the answer.
//
//	peerecho serve tcp|udp ADDR:PORT [-n COUNT]
//	peerecho ask   tcp|udp ADDR:PORT
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: peerecho serve|ask tcp|udp ADDR:PORT [-n COUNT]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("peerecho", flag.ExitOnError)
	count := fs.Int("n", 1, "requests to answer before exiting (serve)")
	timeout := fs.Duration("t", 20*time.Second, "give up after this long")
	_ = fs.Parse(os.Args[4:])
	mode, proto, addr := os.Args[1], os.Args[2], os.Args[3]
	var err error
	switch mode {
	case "serve":
		err = serve(proto, addr, *count, *timeout)
	case "ask":
		err = ask(proto, addr, *timeout)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerecho:", err)
		os.Exit(1)
	}
}

func serve(proto, addr string, count int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	switch proto {
	case "tcp":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		defer l.Close()
		l.(*net.TCPListener).SetDeadline(deadline)
		for i := 0; i < count; i++ {
			c, err := l.Accept()
			if err != nil {
				return err
			}
			fmt.Printf("server %s/tcp saw a connection from %s\n", addr, c.RemoteAddr())
			fmt.Fprintf(c, "%s\n", c.RemoteAddr())
			c.Close()
		}
	case "udp":
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		defer pc.Close()
		pc.SetDeadline(deadline)
		buf := make([]byte, 1500)
		for i := 0; i < count; i++ {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return err
			}
			fmt.Printf("server %s/udp saw a datagram from %s\n", addr, from)
			pc.WriteTo([]byte(from.String()+"\n"), from)
		}
	default:
		return fmt.Errorf("unknown protocol %q", proto)
	}
	return nil
}

func ask(proto, addr string, timeout time.Duration) error {
	c, err := net.DialTimeout(proto, addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if proto == "udp" {
		if _, err := c.Write([]byte("hello\n")); err != nil {
			return err
		}
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	fmt.Printf("client %s -> %s/%s: the server saw %s", c.LocalAddr(), addr, proto, buf[:n])
	return nil
}
