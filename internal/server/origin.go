package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// ReasonMisdirected (421): a request to a server that listens on loopback only, under a host
// name that is not a loopback one.
const ReasonMisdirected = "MisdirectedRequest"

// crossOriginProtected refuses the writes (every method but GET, HEAD and OPTIONS) that a
// browser sends from another origin — by Sec-Fetch-Site, or an Origin whose host is not the
// request's Host — with 403: a page elsewhere cannot make a signed-in browser act on strata
// (CSRF). Programs (the CLI, curl) send neither header and are not concerned.
func (s *Server) crossOriginProtected(h http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &apiError{code: http.StatusForbidden, reason: ReasonForbidden,
			message: fmt.Sprintf("cross-origin request refused: a %s from a page of another origin (Origin %q) may not change strata", r.Method, r.Header.Get("Origin"))})
	}))
	return p.Handler(h)
}

// loopbackHostsOnly answers 421 to a request whose Host is not a loopback name or address: a
// server that listens on loopback only is for this machine, and a page elsewhere whose name
// resolves to 127.0.0.1 (DNS rebinding) must not reach it.
func (s *Server) loopbackHostsOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsLoopbackHost(r.Host) {
			s.writeError(w, r, &apiError{code: http.StatusMisdirectedRequest, reason: ReasonMisdirected,
				message: fmt.Sprintf("host %q refused: this server listens on loopback only and answers to localhost, 127.0.0.1 or [::1]", r.Host)})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// IsLoopbackHost reports whether host (a Host header: a name or address, with or without a
// port) is localhost, a name under .localhost, or a loopback address.
func IsLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listensOnLoopback reports whether ln accepts connections on a loopback address only.
func listensOnLoopback(ln net.Listener) bool {
	a, ok := ln.Addr().(*net.TCPAddr)
	return ok && a.IP != nil && a.IP.IsLoopback()
}
