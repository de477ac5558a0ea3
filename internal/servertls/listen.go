package servertls

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ListenHost is the host of a listen address host:port ("" for ":7080"); an address without
// a port is taken to be a host.
func ListenHost(listen string) string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return strings.TrimSuffix(strings.TrimPrefix(listen, "["), "]")
	}
	return host
}

// IsLoopback reports whether the listen address host:port is on a loopback address only:
// its host is localhost, an address of 127.0.0.0/8 or ::1. An empty or unspecified host
// (":7080", "0.0.0.0:7080", "[::]:7080"), which listens on every interface, is not.
func IsLoopback(listen string) bool {
	host := ListenHost(listen)
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, _ := parseHost(host)
	return ip != nil && ip.IsLoopback()
}

// CheckInsecureHTTP says whether plain HTTP (--insecure-http) may be served on listen with
// opts: only on a loopback address, and without a certificate to serve.
func CheckInsecureHTTP(listen string, opts Options) error {
	if opts.CertFile != "" || opts.KeyFile != "" {
		return errors.New("--insecure-http serves plain HTTP: it cannot be given with --tls-cert or --tls-key")
	}
	if !IsLoopback(listen) {
		return fmt.Errorf("--insecure-http: plain HTTP is served only on a loopback address (127.0.0.1, ::1, localhost); --listen %s is not", listen)
	}
	return nil
}
