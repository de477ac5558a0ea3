package gatewayserver

import (
	"fmt"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Operations a gateway asks of the store.
const (
	opGet    = "get"
	opList   = "list"
	opUpdate = "update"
	opDelete = "delete"
	opEvent  = "event"
	opLease  = "lease"
	opSecret = "secret"
)

// request is one store call of a gateway, with what the server found out about its target.
type request struct {
	op, kind, key string
	// owner is the gateway the target belongs to: a cluster's account's gateway, an account's
	// own, a gateway's name; empty for the server's own objects, or when the target is unknown.
	owner string
	// deleting: the target is marked for deletion.
	deleting bool
}

// decide is the authorization of a gateway's store call: a gateway reads and writes the status
// of the clusters and cloud accounts bound to it, their events, leases and secrets, reads the
// cluster profiles (which hold no secret) and its own PrivateCloudGateway, deletes a cluster of
// its own once it is marked for deletion, and nothing else. A refusal names the rule.
func decide(gateway string, r request) error {
	mine := r.owner != "" && r.owner == gateway
	switch {
	case r.kind == v1alpha1.KindClusterProfile && (r.op == opGet || r.op == opList):
		return nil
	case r.kind == v1alpha1.KindPrivateCloudGateway && r.op == opGet && r.key == gateway:
		return nil
	case r.kind == v1alpha1.KindPrivateCloudGateway:
		return fmt.Errorf("a gateway reads only its own PrivateCloudGateway, and writes none")
	case r.kind == v1alpha1.KindClusterProfile:
		return fmt.Errorf("a gateway cannot %s cluster profiles", r.op)
	case r.op == opList && (r.kind == v1alpha1.KindCluster || r.kind == v1alpha1.KindCloudAccount):
		return nil // the items are filtered by owner
	case !mine:
		return fmt.Errorf("%s %q is not bound to gateway %q", describe(r), r.key, gateway)
	case r.op == opDelete && r.kind != v1alpha1.KindCluster:
		return fmt.Errorf("a gateway deletes clusters only")
	case r.op == opDelete && !r.deleting:
		return fmt.Errorf("a gateway deletes only a cluster marked for deletion")
	}
	return nil
}

func describe(r request) string {
	switch r.op {
	case opLease:
		return "the lease"
	case opSecret:
		return "the secret"
	}
	return r.kind
}

// secretTarget says which object a secret's name belongs to: a cluster's bootstrap secrets
// ("cluster/<uid>/bootstrap") and its agent's registration tokens ("agent/token/<uid>"), by
// cluster UID. Any other name is the server's.
func secretTarget(name string) (uid string, ok bool) {
	if rest, found := strings.CutPrefix(name, "cluster/"); found {
		uid, suffix, _ := strings.Cut(rest, "/")
		return uid, uid != "" && suffix == "bootstrap"
	}
	if uid, found := strings.CutPrefix(name, "agent/token/"); found && uid != "" && !strings.Contains(uid, "/") {
		return uid, true
	}
	return "", false
}

// leaseTarget says which object a lease's name belongs to: "cluster/<name>" and
// "cloudaccount/<name>" (the controller's claims), "agent/token/<uid>" (a cluster's tokens).
func leaseTarget(name string) (kind, key string, byUID, ok bool) {
	if n, found := strings.CutPrefix(name, "cluster/"); found && n != "" {
		return v1alpha1.KindCluster, n, false, true
	}
	if n, found := strings.CutPrefix(name, "cloudaccount/"); found && n != "" {
		return v1alpha1.KindCloudAccount, n, false, true
	}
	if uid, found := strings.CutPrefix(name, "agent/token/"); found && uid != "" {
		return v1alpha1.KindCluster, uid, true, true
	}
	return "", "", false, false
}
