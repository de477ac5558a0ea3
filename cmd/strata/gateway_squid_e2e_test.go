package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/squidtest"
)

// squidEndpointName is the server's agent endpoint as the gateway dials it: only squid's
// hosts file resolves it, so the gateway reaches the server through squid or not at all.
const squidEndpointName = "strata-endpoint.test"

// TestGatewayThroughSquid runs the server, squid and a gateway as real processes: the gateway
// dials the server's endpoint through squid (HTTPS_PROXY, a name only squid resolves) and
// Azure through squid too (its spec.proxy, whose noProxy is empty); the cluster of its account
// is provisioned, squid's access log has the CONNECT tunnels to both, and the emulator saw no
// request from anyone else.
func TestGatewayThroughSquid(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	if squidtest.Binary() == "" {
		t.Skip("squid not installed: make squid")
	}
	squidPort, _ := strconv.Atoi(strings.Split(freeAddress(t), ":")[1])
	sq := squidtest.Start(t, squidPort, map[string]string{squidEndpointName: "127.0.0.1"})
	proxy := "http://" + sq.Addr()
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" })
	env.ResourceGroup(t, "behind-rg")
	dir := gatewayManifests(t, env, "behind-rg")
	gw := fmt.Sprintf("apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata:\n  name: corp\nspec:\n  proxy:\n    httpsProxy: %s\n", proxy)
	if err := os.WriteFile(filepath.Join(dir, "0-gateway.yaml"), []byte(gw), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddress(t)
	_, port, _ := net.SplitHostPort(listen)
	endpoint := net.JoinHostPort(squidEndpointName, port)
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--agent-listen", listen,
		"--agent-advertise", endpoint, "--gateway-heartbeat", "1s"}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	base := env.RequestsNotFrom(t, "strata-gateway/corp", "", "")
	g := startGateway(t, srv.URL, endpoint, "corp", "replica-a", t.TempDir(),
		"HTTPS_PROXY="+proxy, "https_proxy="+proxy, "NO_PROXY=", "no_proxy=")
	waitRunning(t, srv.URL, []string{"behind"}, 3*time.Minute, srv.logs)
	g.stop(t) // squid writes a tunnel's line when it closes
	emu, err := url.Parse(env.Emulator.URL())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sq.Tunnels(endpoint)) == 0 || len(sq.Tunnels(emu.Host)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no CONNECT through squid to the endpoint %s (%d) or to Azure %s (%d); access.log:\n%s",
				endpoint, len(sq.Tunnels(endpoint)), emu.Host, len(sq.Tunnels(emu.Host)), strings.Join(sq.AccessLog(), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := env.RequestsNotFrom(t, "strata-gateway/corp", "", "") - base; n != 0 {
		t.Errorf("%d requests to the emulator from callers other than the gateway: %+v", n, env.Callers(t))
	}
}
