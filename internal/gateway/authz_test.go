package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

func createCluster(t *testing.T, st store.Store, name, account string) *v1alpha1.Cluster {
	t.Helper()
	cl := v1alpha1.New(v1alpha1.KindCluster).(*v1alpha1.Cluster)
	cl.Metadata.Name, cl.Spec.CloudAccount, cl.Spec.Tags = name, account, []string{"team:a"}
	if err := st.Create(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	return cl
}

// A gateway sees and writes only what is bound to it, and never a spec.
func TestRemoteStoreIsNarrowedToTheGateway(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t)
	ts.gateway(t, "corp", "corp-acct", "s1")
	ts.gateway(t, "other", "other-acct", "s2")
	serverAcct := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	serverAcct.Metadata.Name = "direct"
	if err := ts.st.Create(ctx, serverAcct); err != nil {
		t.Fatal(err)
	}
	createCluster(t, ts.st, "mine", "corp-acct")
	theirs := createCluster(t, ts.st, "theirs", "other-acct")
	createCluster(t, ts.st, "direct", "direct")
	cc, _ := ts.register(t, "corp")
	rs := NewRemoteStore(cc)

	page, err := rs.List(ctx, v1alpha1.KindCluster, store.ListOptions{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Key() != "mine" {
		t.Fatalf("listed %v %v, want only mine", page.Items, err)
	}
	accts, err := rs.List(ctx, v1alpha1.KindCloudAccount, store.ListOptions{})
	if err != nil || len(accts.Items) != 1 || accts.Items[0].Key() != "corp-acct" {
		t.Fatalf("listed accounts %v %v", accts.Items, err)
	}
	for _, key := range []string{"theirs", "direct"} {
		if _, err := rs.Get(ctx, v1alpha1.KindCluster, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get %s: %v, want not found", key, err)
		}
	}
	if _, err := rs.Get(ctx, v1alpha1.KindCloudAccount, "other-acct"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other gateway's account: %v", err)
	}
	if _, err := rs.Get(ctx, v1alpha1.KindPrivateCloudGateway, "other"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("other gateway: %v", err)
	}
	if _, err := rs.GetSecret(ctx, "cluster/"+theirs.Metadata.UID+"/bootstrap"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("their secret: %v", err)
	}
	if _, err := rs.GetSecret(ctx, "agent/ca"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the agent CA: %v", err)
	}
	if ok, err := rs.AcquireLease(ctx, "cluster/theirs", "x", time.Minute); ok || status.Code(err) != codes.PermissionDenied {
		t.Errorf("their lease: %v %v", ok, err)
	}
	if err := rs.Delete(ctx, v1alpha1.KindCluster, "mine", ""); status.Code(err) != codes.PermissionDenied {
		t.Errorf("delete of a cluster not marked for deletion: %v", err)
	}

	// A status write that also changes the spec and tags changes the status only.
	obj, _ := rs.Get(ctx, v1alpha1.KindCluster, "mine")
	mine := obj.(*v1alpha1.Cluster)
	mine.Status.Phase = "Provisioning"
	mine.Spec.Tags = []string{"team:b"}
	mine.Spec.CloudAccount = "other-acct"
	mine.Metadata.Labels = map[string]string{"x": "y"}
	if err := rs.Update(ctx, mine); err != nil {
		t.Fatal(err)
	}
	stored, _ := ts.st.Get(ctx, v1alpha1.KindCluster, "mine")
	got := stored.(*v1alpha1.Cluster)
	if got.Status.Phase != "Provisioning" || got.Spec.Tags[0] != "team:a" || got.Spec.CloudAccount != "corp-acct" || got.Metadata.Labels != nil {
		t.Errorf("stored %q %v %q %v", got.Status.Phase, got.Spec.Tags, got.Spec.CloudAccount, got.Metadata.Labels)
	}
}

// Tokens: single-use, per replica, and a cluster's agent token is no gateway's.
func TestGatewayTokens(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t)
	ts.gateway(t, "corp", "acct", "s")
	one, _, err := ts.srv.MintToken(ctx, "corp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	two, _, err := ts.srv.MintToken(ctx, "corp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := withDefaults(Config{Server: ts.addr, CAPEM: ts.caPEM, DataDir: t.TempDir()})
	sess, err := newSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	cc, err := sess.client()
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	reg := gatewayv1.NewGatewayRegistrationServiceClient(cc)
	csr, _, _ := newCSR()
	if _, err := reg.Register(ctx, &gatewayv1.RegisterRequest{Token: one, Csr: csr}); err != nil {
		t.Fatalf("first token: %v", err)
	}
	if _, err := reg.Register(ctx, &gatewayv1.RegisterRequest{Token: one, Csr: csr}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("token used twice: %v", err)
	}
	if _, err := reg.Register(ctx, &gatewayv1.RegisterRequest{Token: two, Csr: csr}); err != nil {
		t.Errorf("the second replica's token was spent by the first: %v", err)
	}
	if _, _, err := ts.srv.MintToken(ctx, "absent", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token for an absent gateway: %v", err)
	}
	raw, _ := ts.st.GetSecret(ctx, "agent/token/"+mustUID(t, ts, "corp"))
	if len(raw) > 0 && (containsString(raw, one) || containsString(raw, two)) {
		t.Error("a token is stored in clear")
	}
}

func mustUID(t *testing.T, ts *testServer, name string) string {
	obj, err := ts.st.Get(context.Background(), v1alpha1.KindPrivateCloudGateway, name)
	if err != nil {
		t.Fatal(err)
	}
	return obj.GetMetadata().UID
}

func containsString(b []byte, token string) bool {
	_, secret, _ := strings.Cut(token, ".")
	return secret != "" && strings.Contains(string(b), secret)
}
