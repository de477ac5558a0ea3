// Package proxytest holds the agent's end-to-end test through a real CONNECT proxy: Debian's
// squid on loopback (`make squid` installs it), the hub's gRPC endpoint under a host name that
// only squid resolves, a real kube-apiserver, and the agent in process. It has no code of its
// own: see its tests.
package proxytest
