package proxytest_test

import (
	"fmt"
	"net"
	"os"
	"testing"
)

// endpointName is the agent endpoint's host name: only squid's hosts_file maps it (to
// 127.0.0.1), so the agent reaches the endpoint through the proxy or not at all.
const endpointName = "strata-agent-endpoint.test"

// squidPort is the proxy's port on 127.0.0.1, chosen by TestMain, which points HTTPS_PROXY at
// it before anything dials: net/http (which grpc-go asks) reads the proxy environment once per
// process.
var squidPort int

func TestMain(m *testing.M) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxytest:", err)
		os.Exit(1)
	}
	squidPort = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	proxy := fmt.Sprintf("http://127.0.0.1:%d", squidPort)
	for k, v := range map[string]string{"HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, "proxytest:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
