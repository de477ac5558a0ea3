// Package tunnel carries gRPC to the agent endpoint through proxies that let HTTP/2 pass and
// through those that do not (TLS interception, HTTP/1.1 only).
//
// Client: a Dialer (one per process and server) makes gRPC clients whose connections go
// directly or through the proxy with its own HTTP CONNECT (grpc-go's proxy support is off),
// with TLS and ALPN h2 end to end to the server (mutual TLS). After FallbackAfter (10)
// consecutive failed gRPC attempts (a proxy refusing CONNECT, a TLS handshake failing, e.g.
// on a certificate of an intercepting proxy's CA, ALPN not h2) it switches to the WebSocket
// transport: GET wss://<server>/v1/tunnel over HTTP/1.1 through the proxy, whose outer TLS may
// be re-signed by the proxy (its CA, Config.ProxyCA, is trusted for it), carrying the bytes of
// an inner TLS connection that gRPC's credentials handshake with the server as usual: mutual
// TLS stays end to end. Every RetryGRPCAfter (10 min) it probes gRPC's way; once it passes,
// the WebSocket connections are closed and gRPC reconnects over HTTP/2. Dialer.Mode says which.
//
// Server: Server.Serve serves a gRPC server made with Server.Credentials and the WebSocket
// transport on one listener, telling them apart by ALPN (h2: gRPC; http/1.1: HTTP, where only
// /v1/tunnel answers, with the WebSocket whose inner TLS goes to the gRPC server).
//
// The agent takes the proxy from HTTPS_PROXY and NO_PROXY, and the proxy's CA from the
// variable STRATA_PROXY_CA (PEM) or else the key proxy-ca.crt of its Secret strata-agent.
package tunnel
