package gatewayserver

import (
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestDecide(t *testing.T) {
	const gw = "corp"
	tests := []struct {
		name string
		r    request
		ok   bool
	}{
		{"own cluster get", request{op: opGet, kind: v1alpha1.KindCluster, key: "a", owner: gw}, true},
		{"own cluster status update", request{op: opUpdate, kind: v1alpha1.KindCluster, key: "a", owner: gw}, true},
		{"server's cluster get", request{op: opGet, kind: v1alpha1.KindCluster, key: "b", owner: ""}, false},
		{"other gateway's cluster update", request{op: opUpdate, kind: v1alpha1.KindCluster, key: "c", owner: "other"}, false},
		{"unknown target", request{op: opSecret, kind: v1alpha1.KindCluster, key: "x"}, false},
		{"list clusters (filtered)", request{op: opList, kind: v1alpha1.KindCluster}, true},
		{"profiles are read", request{op: opGet, kind: v1alpha1.KindClusterProfile, key: "p@1"}, true},
		{"profiles are not written", request{op: opUpdate, kind: v1alpha1.KindClusterProfile, key: "p@1"}, false},
		{"own gateway read", request{op: opGet, kind: v1alpha1.KindPrivateCloudGateway, key: gw}, true},
		{"own gateway write", request{op: opUpdate, kind: v1alpha1.KindPrivateCloudGateway, key: gw, owner: gw}, false},
		{"other gateway read", request{op: opGet, kind: v1alpha1.KindPrivateCloudGateway, key: "other"}, false},
		{"own account get", request{op: opGet, kind: v1alpha1.KindCloudAccount, key: "acct", owner: gw}, true},
		{"own account delete", request{op: opDelete, kind: v1alpha1.KindCloudAccount, key: "acct", owner: gw, deleting: true}, false},
		{"own cluster delete, marked", request{op: opDelete, kind: v1alpha1.KindCluster, key: "a", owner: gw, deleting: true}, true},
		{"own cluster delete, not marked", request{op: opDelete, kind: v1alpha1.KindCluster, key: "a", owner: gw}, false},
		{"own lease", request{op: opLease, kind: v1alpha1.KindCluster, key: "a", owner: gw}, true},
		{"other's secret", request{op: opSecret, kind: v1alpha1.KindCluster, key: "uid", owner: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decide(gw, tt.r)
			if (err == nil) != tt.ok {
				t.Fatalf("decide(%+v) = %v, want allowed %v", tt.r, err, tt.ok)
			}
		})
	}
}

func TestSecretAndLeaseTargets(t *testing.T) {
	secrets := []struct {
		name, uid string
		ok        bool
	}{
		{"cluster/u1/bootstrap", "u1", true},
		{"cluster/u1/other", "u1", false},
		{"agent/token/u2", "u2", true},
		{"agent/ca", "", false},
		{"agent/token/", "", false},
		{"gateway/x", "", false},
	}
	for _, tt := range secrets {
		uid, ok := secretTarget(tt.name)
		if ok != tt.ok || (ok && uid != tt.uid) {
			t.Errorf("secretTarget(%q) = %q, %v; want %q, %v", tt.name, uid, ok, tt.uid, tt.ok)
		}
	}
	leases := []struct {
		name, kind, key string
		byUID, ok       bool
	}{
		{"cluster/a", v1alpha1.KindCluster, "a", false, true},
		{"cloudaccount/acct", v1alpha1.KindCloudAccount, "acct", false, true},
		{"agent/token/u", v1alpha1.KindCluster, "u", true, true},
		{"agent/ca", "", "", false, false},
		{"cluster/", "", "", false, false},
	}
	for _, tt := range leases {
		kind, key, byUID, ok := leaseTarget(tt.name)
		if ok != tt.ok || kind != tt.kind || key != tt.key || byUID != tt.byUID {
			t.Errorf("leaseTarget(%q) = %q %q %v %v", tt.name, kind, key, byUID, ok)
		}
	}
}
