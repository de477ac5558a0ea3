package emulatortest

import (
	"net"
	"sync"
	"testing"
)

// TarPit listens on loopback, accepts every connection and never reads from it nor answers:
// an Azure endpoint that hangs. It counts the connections it accepted, and is closed with them
// when the test ends.
type TarPit struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartTarPit starts a tar-pit for the test.
func StartTarPit(t testing.TB) *TarPit {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &TarPit{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// URL is the tar-pit's HTTPS base URL, https://127.0.0.1:PORT.
func (p *TarPit) URL() string { return "https://" + p.ln.Addr().String() }

// Accepted is how many connections the tar-pit has taken so far.
func (p *TarPit) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
