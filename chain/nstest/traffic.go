package nstest

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/net/dns/dnsmessage"
)

// Server is a TCP, SCTP or UDP listener inside a namespace that answers each
// connection or datagram with the peer address it saw; an "http" one
// answers each request so, and a "dns" one answers each A query with its
// own IPv4 address.
type Server struct {
	mu    sync.Mutex
	peers []string
	close func()
}

// Peers returns the peer addresses seen so far.
func (s *Server) Peers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.peers...)
}

// Close stops the server.
func (s *Server) Close() { s.close() }

func (s *Server) saw(a net.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers = append(s.peers, a.String())
	return a.String()
}

// Serve starts a server in namespace name. Sockets keep the namespace they
// were created in, so only the listen call needs to run inside it.
func Serve(name, proto, addr string) (*Server, error) {
	n, err := NS(name)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	s := &Server{}
	err = n.Do(func(ns.NetNS) error {
		switch proto {
		case "tcp", "sctp":
			listen := func() (net.Listener, error) { return net.Listen("tcp", addr) }
			if proto == "sctp" {
				listen = func() (net.Listener, error) { return sctpListen(addr) }
			}
			l, err := listen()
			if err != nil {
				return err
			}
			s.close = func() { l.Close() }
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					fmt.Fprintf(c, "%s\n", s.saw(c.RemoteAddr()))
					c.Close()
				}
			}()
		case "udp":
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return err
			}
			s.close = func() { pc.Close() }
			go func() {
				buf := make([]byte, 1500)
				for {
					_, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo([]byte(s.saw(from)+"\n"), from)
				}
			}()
		case "http":
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintln(w, s.saw(tcpAddr(r.RemoteAddr)))
			})}
			s.close = func() { srv.Close() }
			go srv.Serve(l)
		case "dns":
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return err
			}
			s.close = func() { pc.Close() }
			go serveDNS(s, pc)
		default:
			return fmt.Errorf("unknown protocol %q", proto)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("serve %s %s in %s: %v", proto, addr, name, err)
	}
	return s, nil
}

// Ask connects from namespace name to addr and returns the peer address
// the server reported, i.e. the source it saw.
func Ask(name, proto, addr string) (string, error) {
	n, err := NS(name)
	if err != nil {
		return "", err
	}
	defer n.Close()
	var c net.Conn
	err = n.Do(func(ns.NetNS) error {
		var err error
		if proto == "sctp" {
			c, err = sctpDial(addr, 3*time.Second)
			return err
		}
		c, err = net.DialTimeout(proto, addr, 3*time.Second)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("dial %s %s from %s: %v", proto, addr, name, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if proto == "udp" {
		if _, err := c.Write([]byte("hello\n")); err != nil {
			return "", err
		}
	}
	buf := make([]byte, 256)
	nr, err := c.Read(buf)
	if err != nil {
		return "", fmt.Errorf("%s %s from %s: no answer: %v", proto, addr, name, err)
	}
	return strings.TrimSpace(string(buf[:nr])), nil
}

// SourceIP strips the port from an address as Ask returns it.
func SourceIP(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

// tcpAddr is a "host:port" peer as a net.Addr.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

// serveDNS answers every A query on pc with pc's own IPv4 address.
func serveDNS(s *Server, pc net.PacketConn) {
	own := [4]byte(pc.LocalAddr().(*net.UDPAddr).IP.To4())
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var m dnsmessage.Message
		if m.Unpack(buf[:n]) != nil || len(m.Questions) != 1 {
			continue
		}
		s.saw(from)
		m.Header.Response = true
		m.Answers = []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: m.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
			Body:   &dnsmessage.AResource{A: own},
		}}
		if b, err := m.Pack(); err == nil {
			pc.WriteTo(b, from)
		}
	}
}
