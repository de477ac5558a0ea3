package gateway

import (
	"testing"

	"github.com/strata-dev/strata/internal/controller/storetest"
)

// The controller's store conformance suite, against the server's local store and against the
// gateway's remote store over real mutual TLS.
func TestStoreConformance(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			ts := newTestServer(t)
			ts.gateway(t, "corp", "acct", "s3cret")
			return storetest.Harness{Store: ts.st, Backing: ts.st, Account: "acct", Secret: "s3cret"}
		})
	})
	t.Run("remote", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Harness {
			ts := newTestServer(t)
			ts.gateway(t, "corp", "acct", "s3cret")
			cc, _ := ts.register(t, "corp")
			return storetest.Harness{Store: NewRemoteStore(cc), Backing: ts.st, Account: "acct", Secret: "s3cret"}
		})
	})
}
