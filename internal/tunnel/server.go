package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// DefaultHandshakeTimeout bounds the server's TLS handshake of an accepted connection.
const DefaultHandshakeTimeout = 10 * time.Second

// ServerConfig configures a Server.
type ServerConfig struct {
	// Logger logs refused connections at debug level; nil discards.
	Logger *slog.Logger
	// HandshakeTimeout bounds the TLS handshake and the HTTP request's headers:
	// 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// Server serves a gRPC server and the WebSocket transport on one listener: it does the TLS
// handshake itself (ALPN h2 and http/1.1), hands h2 connections to gRPC, and serves HTTP/1.1
// ones, whose WebSocket on /v1/tunnel carries an inner TLS connection handed to gRPC too.
// Make one per gRPC server: its Credentials are the gRPC server's.
type Server struct {
	cfg ServerConfig
	log *slog.Logger

	mu   sync.Mutex
	conf *tls.Config
}

// NewServer returns a Server of cfg.
func NewServer(cfg ServerConfig) *Server {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Credentials are the gRPC server's transport credentials (grpc.Creds) for conf, the serving
// certificate and client authentication: a connection Serve has handshaken already is taken as
// is (its peer's TLSInfo is the handshake's state, VerifiedChains included); any other
// connection (a WebSocket's inner TLS, or one of gs.Serve on a plain listener) is handshaken
// with conf. Serve uses conf for the handshakes it does.
func (s *Server) Credentials(conf *tls.Config) credentials.TransportCredentials {
	inner := conf.Clone()
	inner.NextProtos = nil // credentials.NewTLS adds h2
	s.mu.Lock()
	s.conf = conf.Clone()
	s.mu.Unlock()
	return &serverCreds{TransportCredentials: credentials.NewTLS(inner)}
}

// Serve serves gs, which must have been made with s.Credentials, on ln until gs stops (Stop or
// GracefulStop close everything Serve opened, ln included) or ln fails. It returns gs.Serve's
// error.
func (s *Server) Serve(gs *grpc.Server, ln net.Listener) error {
	s.mu.Lock()
	conf := s.conf
	s.mu.Unlock()
	if conf == nil {
		ln.Close()
		return errors.New("tunnel: Serve of a gRPC server not made with the Server's Credentials")
	}
	outer := conf.Clone()
	outer.NextProtos = []string{"h2", "http/1.1"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grpcLn, httpLn := newChanListener(ln.Addr()), newChanListener(ln.Addr())
	h := &wsHandler{s: s, to: grpcLn}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: s.cfg.HandshakeTimeout, IdleTimeout: time.Minute,
		ErrorLog: log.New(io.Discard, "", 0), BaseContext: func(net.Listener) context.Context { return ctx }}

	var wg sync.WaitGroup
	wg.Go(func() { _ = hs.Serve(httpLn) })
	wg.Go(func() {
		// gs stopped (it closed grpcLn) or ln failed: close everything.
		<-grpcLn.done
		cancel()
		ln.Close()
		_ = hs.Close()
		h.stop()
	})
	wg.Go(func() {
		defer grpcLn.Close()
		var handshakes sync.WaitGroup
		defer handshakes.Wait()
		for {
			conn, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				return
			}
			handshakes.Go(func() { s.handshake(ctx, conn, outer, grpcLn, httpLn) })
		}
	})
	err := gs.Serve(grpcLn)
	grpcLn.Close()
	wg.Wait()
	return err
}

// handshake does the TLS handshake of an accepted connection and hands it on by its ALPN.
func (s *Server) handshake(ctx context.Context, conn net.Conn, conf *tls.Config, grpcLn, httpLn *chanListener) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	tc := tls.Server(conn, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Debug("agent endpoint: TLS handshake failed", "remote", conn.RemoteAddr().String(), "error", err)
		conn.Close()
		return
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		grpcLn.deliver(&handshakenConn{Conn: tc})
		return
	}
	httpLn.deliver(tc)
}

// wsHandler serves HTTP/1.1: the WebSocket on Path, 404 elsewhere.
type wsHandler struct {
	s      *Server
	to     *chanListener
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

func (h *wsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	h.active.Add(1)
	h.mu.Unlock()
	defer h.active.Done()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		h.s.log.Debug("agent endpoint: WebSocket upgrade refused", "remote", r.RemoteAddr, "error", err)
		return
	}
	h.to.deliver(NetConn(ws))
}

// stop refuses new upgrades and waits for those under way.
func (h *wsHandler) stop() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.active.Wait()
}

// handshakenConn is a TLS connection Serve has handshaken, for serverCreds.
type handshakenConn struct {
	*tls.Conn
}

// serverCreds take a handshakenConn as is and handshake any other connection.
type serverCreds struct {
	credentials.TransportCredentials
}

func (c *serverCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if hc, ok := conn.(*handshakenConn); ok {
		return hc.Conn, credentials.TLSInfo{State: hc.ConnectionState(),
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c *serverCreds) Clone() credentials.TransportCredentials {
	return &serverCreds{TransportCredentials: c.TransportCredentials.Clone()}
}

// chanListener is a net.Listener of the connections delivered to it.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// deliver hands conn to Accept, or closes it once the listener is closed.
func (l *chanListener) deliver(conn net.Conn) {
	select {
	case l.ch <- conn:
	case <-l.done:
		conn.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
