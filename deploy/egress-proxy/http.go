package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// httpProxy is a forward proxy: absolute-URI requests (plain HTTP) and
// CONNECT tunnels (HTTPS and anything else over TCP), to allowed names only.
type httpProxy struct {
	allow        *allowList
	connectPorts map[int]bool
	hosts        hostMap
	timeout      time.Duration
	log          *log.Logger
	transport    *http.Transport
}

func serveHTTP(addr string, p *httpProxy) error {
	p.transport = &http.Transport{DialContext: p.dial, ResponseHeaderTimeout: p.timeout, MaxIdleConnsPerHost: 4}
	srv := &http.Server{Addr: addr, Handler: p, ReadHeaderTimeout: p.timeout}
	p.log.Printf("listening on %s", addr)
	return srv.ListenAndServe()
}

// dial connects to host:port, a -map entry standing in for DNS.
func (p *httpProxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip, ok := p.hosts[canonical(host)]; ok {
		addr = net.JoinHostPort(ip, port)
	}
	d := net.Dialer{Timeout: p.timeout}
	return d.DialContext(ctx, network, addr)
}

// hopHeaders are for one hop only and are not passed on.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "egress-proxy: not a proxy request (the URL is not absolute)", http.StatusBadRequest)
		return
	}
	host := r.URL.Hostname()
	if !p.allow.allows(host) {
		p.refuse(w, r, host)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.log.Printf("%s %s from %s: %v", r.Method, r.URL, r.RemoteAddr, err)
		http.Error(w, "egress-proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	p.log.Printf("%s %s from %s: %d", r.Method, r.URL, r.RemoteAddr, resp.StatusCode)
}

func (p *httpProxy) refuse(w http.ResponseWriter, r *http.Request, host string) {
	p.log.Printf("refused %s %s from %s: %q is not allowed", r.Method, r.Host, r.RemoteAddr, host)
	http.Error(w, fmt.Sprintf("egress-proxy: %q is not allowed", host), http.StatusForbidden)
}

// connect opens a tunnel: the client speaks to the far end through it.
func (p *httpProxy) connect(w http.ResponseWriter, r *http.Request) {
	host, portS, err := net.SplitHostPort(r.Host)
	port, _ := strconv.Atoi(portS)
	if err != nil || !p.connectPorts[port] {
		p.log.Printf("refused CONNECT %s from %s: port not allowed", r.Host, r.RemoteAddr)
		http.Error(w, fmt.Sprintf("egress-proxy: CONNECT to port %q is not allowed", portS), http.StatusForbidden)
		return
	}
	if !p.allow.allows(host) {
		p.refuse(w, r, host)
		return
	}
	far, err := p.dial(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, "egress-proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		far.Close()
		http.Error(w, "egress-proxy: cannot tunnel on this connection", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		far.Close()
		return
	}
	p.log.Printf("CONNECT %s from %s", r.Host, r.RemoteAddr)
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		client.Close()
		far.Close()
		return
	}
	// What the client sent after the request line is in buf already.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(far, buf)
		if c, ok := far.(*net.TCPConn); ok {
			_ = c.CloseWrite()
		}
	}()
	_, _ = io.Copy(client, far)
	client.Close()
	wg.Wait()
	far.Close()
}
