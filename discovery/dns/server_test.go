package dns_test

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	mdns "github.com/miekg/dns"
)

// dnsServer is an authoritative DNS server on loopback, UDP and TCP on one
// port, answering from records the test sets. A name it has no records
// for gets NXDOMAIN; a name it has records for, but none of the type
// asked, an empty answer. Over UDP an answer larger than the query's
// EDNS0 buffer is truncated, so the resolver asks again over TCP.
type dnsServer struct {
	t    testing.TB
	addr string

	mu      sync.Mutex
	records map[string][]mdns.RR // by lower-case owner name, rooted
	udp     *mdns.Server
	tcp     *mdns.Server

	queries    atomic.Int64
	tcpQueries atomic.Int64
}

// startDNS starts a server on a free loopback port; it stops with the test.
func startDNS(t testing.TB) *dnsServer {
	t.Helper()
	s := &dnsServer{t: t, records: make(map[string][]mdns.RR)}
	for range 20 { // the TCP port matching a free UDP port may be taken
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			_ = pc.Close()
			continue
		}
		s.addr = pc.LocalAddr().String()
		s.serve(pc, ln)
		t.Cleanup(s.stop)
		return s
	}
	t.Fatal("no loopback port was free for UDP and TCP both")
	return nil
}

func (s *dnsServer) serve(pc net.PacketConn, ln net.Listener) {
	s.t.Helper()
	udpUp, tcpUp := make(chan struct{}), make(chan struct{})
	s.mu.Lock()
	s.udp = &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.answer), NotifyStartedFunc: func() { close(udpUp) }}
	s.tcp = &mdns.Server{Listener: ln, Handler: mdns.HandlerFunc(s.answer), NotifyStartedFunc: func() { close(tcpUp) }}
	udp, tcp := s.udp, s.tcp
	s.mu.Unlock()
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	<-udpUp
	<-tcpUp
}

// stop shuts the server down; a query then finds nothing listening.
func (s *dnsServer) stop() {
	s.mu.Lock()
	udp, tcp := s.udp, s.tcp
	s.udp, s.tcp = nil, nil
	s.mu.Unlock()
	if udp != nil {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	}
}

// restart starts the stopped server again on its port, with its records.
func (s *dnsServer) restart() {
	s.t.Helper()
	pc, err := net.ListenPacket("udp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(pc, ln)
}

// set replaces the records of the owners named in rrs, which are in zone
// file syntax: "_http._tcp.orders.test. 5 IN SRV 0 0 8080 a.orders.test.".
func (s *dnsServer) set(rrs ...string) {
	s.t.Helper()
	parsed := make(map[string][]mdns.RR)
	for _, text := range rrs {
		rr, err := mdns.NewRR(text)
		if err != nil {
			s.t.Fatalf("record %q: %v", text, err)
		}
		owner := strings.ToLower(rr.Header().Name)
		parsed[owner] = append(parsed[owner], rr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for owner, list := range parsed {
		s.records[owner] = list
	}
}

// remove deletes every record of the names, which then get NXDOMAIN.
func (s *dnsServer) remove(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		delete(s.records, strings.ToLower(mdns.Fqdn(name)))
	}
}

func (s *dnsServer) answer(w mdns.ResponseWriter, r *mdns.Msg) {
	s.queries.Add(1)
	_, overTCP := w.RemoteAddr().(*net.TCPAddr)
	if overTCP {
		s.tcpQueries.Add(1)
	}
	m := new(mdns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.SetRcode(r, mdns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	s.mu.Lock()
	rrs, ok := s.records[strings.ToLower(q.Name)]
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype {
			m.Answer = append(m.Answer, mdns.Copy(rr))
		}
	}
	s.mu.Unlock()
	if !ok {
		m.SetRcode(r, mdns.RcodeNameError)
	}
	if !overTCP {
		size := mdns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}
