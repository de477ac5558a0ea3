package azure

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestTarPitRequestIsRetried: a Resource Manager endpoint that accepts connections and never
// answers does not hold a request for the client's 5-minute limit: the TLS handshake gives up
// and the SDK's retry opens a new connection, with the default timeouts and no deadline on the
// caller's context.
func TestTarPitRequestIsRetried(t *testing.T) {
	env := emulatortest.Start(t)
	pit := emulatortest.StartTarPit(t)
	acct := env.CloudAccount(t, "emulator") // signs in at the emulator
	acct.Spec.Azure.Endpoints.ResourceManager = pit.URL()
	c, err := NewClients(context.Background(), acct, env.SubscriptionID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.ResourceGroups(ctx)
		done <- err
	}()
	defer func() {
		cancel()
		<-done
	}()
	limit := 3 * DefaultTimeouts.TLSHandshake
	deadline := time.Now().Add(limit)
	for pit.Accepted() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection(s) to the tar-pit after %s: a request that gets no answer is held", pit.Accepted(), limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTransportTimeouts: each stage of a request to Azure is bounded: the TLS handshake with a
// peer that never answers, and the wait for response headers from one that never answers an
// HTTP request.
func TestTransportTimeouts(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })
	pit := emulatortest.StartTarPit(t)
	timeouts := Timeouts{Dial: time.Second, TLSHandshake: 300 * time.Millisecond, ResponseHeader: 300 * time.Millisecond}
	tests := []struct {
		name, url string
	}{
		{"handshake", pit.URL() + "/"},
		{"response header", slow.URL + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newHTTPClient(slow.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, Options{Timeouts: timeouts})
			done := make(chan error, 1)
			go func() {
				resp, err := client.Get(tt.url)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("error %v, want a timeout", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the request was not given up within a minute")
			}
		})
	}
}
