package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestDescribeHidesProxyPassword checks that describe shows a proxy's password as "(set)", next
// to its URL, and never the password or the server's flags.
func TestDescribeHidesProxyPassword(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	objs := testObjects(t, `apiVersion: strata.dev/v1alpha1
kind: PrivateCloudGateway
metadata: {name: corp}
spec:
  proxy:
    httpProxy: http://alice:Pw-distinctive@proxy.corp.example:3128
    httpsProxy: http://proxy.corp.example:3129
`, now.Add(-time.Hour))
	gw := objs[0].(*v1alpha1.PrivateCloudGateway)
	gw.SetSecretPresent(true) // as a server reports it
	var b bytes.Buffer
	if err := describe(&b, gw, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "Pw-distinctive") || strings.Contains(out, "PasswordSet") {
		t.Fatalf("describe shows the password or the flags:\n%s", out)
	}
	want := "  proxy:\n    httpProxy: http://alice@proxy.corp.example:3128\n    httpProxyPassword: (set)\n    httpsProxy: http://proxy.corp.example:3129\n    noProxy:"
	if !strings.Contains(out, want) {
		t.Errorf("describe lacks %q:\n%s", want, out)
	}
}
