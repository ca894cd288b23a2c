package main

import (
	"log"
	"net"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsForwarder passes queries for allowed names to one upstream server
// and answers the rest REFUSED. It speaks UDP, as stub resolvers do first.
type dnsForwarder struct {
	allow    *allowList
	upstream string
	timeout  time.Duration
	log      *log.Logger
}

func serveDNS(addr string, f *dnsForwarder) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	f.log.Printf("listening on %s, forwarding to %s", addr, f.upstream)
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		go f.handle(pc, from, append([]byte(nil), buf[:n]...))
	}
}

func (f *dnsForwarder) handle(pc net.PacketConn, from net.Addr, msg []byte) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return
	}
	name := qs[0].Name.String()
	if !f.allow.allows(name) {
		f.log.Printf("refused %s %s from %s", qs[0].Type, name, from)
		if b, err := refused(h, qs[0]); err == nil {
			_, _ = pc.WriteTo(b, from)
		}
		return
	}
	c, err := net.DialTimeout("udp", f.upstream, f.timeout)
	if err != nil {
		f.log.Printf("%s %s: upstream %s: %v", qs[0].Type, name, f.upstream, err)
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(f.timeout))
	if _, err := c.Write(msg); err != nil {
		return
	}
	answer := make([]byte, 65535)
	n, err := c.Read(answer)
	if err != nil {
		f.log.Printf("%s %s: no answer from %s: %v", qs[0].Type, name, f.upstream, err)
		return
	}
	_, _ = pc.WriteTo(answer[:n], from)
	f.log.Printf("%s %s from %s: forwarded", qs[0].Type, name, from)
}

// refused is the REFUSED answer to a query.
func refused(h dnsmessage.Header, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode,
		RecursionDesired: h.RecursionDesired, RCode: dnsmessage.RCodeRefused})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	return b.Finish()
}
