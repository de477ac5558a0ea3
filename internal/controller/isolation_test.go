package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// tarPitAccount is the emulator's account with both endpoints pointed at the tar-pit.
func (h *harness) tarPitAccount(t *testing.T, name string, p *emulatortest.TarPit) {
	t.Helper()
	acct := h.env.CloudAccount(t, name)
	acct.Spec.Azure.Endpoints.ResourceManager = p.URL()
	acct.Spec.Azure.Endpoints.ActiveDirectory = p.URL()
	if err := h.st.Create(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
}

// TestUnreachableAccountDoesNotStallOthers: clusters of an account whose Azure endpoints accept
// connections and never answer must not hold up another account's cluster. With the
// controller's default workers, more tar-pit clusters than workers are created first; a healthy
// cluster created after them must reach Running while they are still stuck, in a time
// comparable to the same cluster's without the tar-pit, measured first in this test.
func TestUnreachableAccountDoesNotStallOthers(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*controller.Config)
	}{
		{"default workers", func(*controller.Config) {}},
		// Fewer workers in all than tar-pit clusters: the per-account cap keeps one free.
		{"4 workers, 2 per account", func(c *controller.Config) { c.Workers, c.AccountWorkers = 4, 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.runController(t, "test", tt.cfg)
			testUnreachableAccount(t, h)
		})
	}
}

// testUnreachableAccount is TestUnreachableAccountDoesNotStallOthers with a running controller.
func testUnreachableAccount(t *testing.T, h *harness) {
	ctx := context.Background()

	// Without the tar-pit.
	base := h.cluster(t, "cluster-iaas-dynamic.yaml")
	base.Metadata.Name, base.Spec.Azure.ResourceGroup = "z-base", "z-base-rg"
	h.env.ResourceGroup(t, base.Spec.Azure.ResourceGroup)
	began := time.Now()
	if err := h.st.Create(ctx, base); err != nil {
		t.Fatal(err)
	}
	h.waitRunning(t, base.Key())
	without := time.Since(began)

	// Clusters of the tar-pit account, first in the controller's order, more than it has
	// workers by default (4 before this test was written).
	pit := emulatortest.StartTarPit(t)
	h.tarPitAccount(t, "tarpit", pit)
	const stuck = 6
	var stuckNames []string
	for i := range stuck {
		cl := decodeExample(t, "cluster-iaas-dynamic.yaml")[0].(*v1alpha1.Cluster)
		cl.Metadata.Name = fmt.Sprintf("a-tarpit-%d", i)
		cl.Spec.CloudAccount = "tarpit"
		cl.Spec.Azure.SubscriptionID = uuid.NewString()
		cl.Spec.Azure.ResourceGroup = cl.Metadata.Name + "-rg"
		cl.Spec.Azure.Location = h.env.Location
		if err := h.st.Create(ctx, cl); err != nil {
			t.Fatal(err)
		}
		stuckNames = append(stuckNames, cl.Metadata.Name)
	}
	deadline := time.Now().Add(30 * time.Second)
	for pit.Accepted() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the tar-pit accepted %d connections in 30s: its clusters are not being worked on", pit.Accepted())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// With it.
	healthy := h.cluster(t, "cluster-iaas-dynamic.yaml")
	healthy.Metadata.Name, healthy.Spec.Azure.ResourceGroup = "z-healthy", "z-healthy-rg"
	h.env.ResourceGroup(t, healthy.Spec.Azure.ResourceGroup)
	began = time.Now()
	if err := h.st.Create(ctx, healthy); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, healthy.Key(), "Running beside the tar-pit", max(60*time.Second, 10*without), func(cl *v1alpha1.Cluster) bool {
		return cl.Status.Phase == controller.PhaseRunning
	})
	with := time.Since(began)
	t.Logf("healthy cluster Running in %s without the tar-pit, %s beside %d tar-pit clusters (%d connections held)", without, with, stuck, pit.Accepted())

	for _, n := range stuckNames {
		if p := h.get(t, n).Status.Phase; p == controller.PhaseRunning {
			t.Errorf("tar-pit cluster %s is %s", n, p)
		}
	}
	// Generous: the property is that the healthy cluster does not wait for the tar-pit, whose
	// clusters hang for minutes; the slack absorbs a loaded machine's noise on a short run.
	if with > 3*without+5*time.Second {
		t.Errorf("healthy cluster took %s beside the tar-pit, %s without: it waited on the tar-pit's clusters", with, without)
	}
}
