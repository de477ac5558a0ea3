// Package storetest is the conformance suite that every store.Store implementation passes, and
// the benchmarks they share.
//
// A backend's test calls Run with a function that makes a fresh, empty store, and RunStorage
// with a function that makes fresh storage which can be opened several times (to reopen a store,
// to open it with another key) and read raw (to look for plain-text secrets).
package storetest

import (
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
)

// NewSealer returns a sealer with a fresh random key.
func NewSealer(tb testing.TB) *secrets.Sealer {
	tb.Helper()
	key := make([]byte, secrets.KeySize)
	if _, err := rand.Read(key); err != nil {
		tb.Fatalf("generate key: %v", err)
	}
	s, err := secrets.NewSealer(key)
	if err != nil {
		tb.Fatalf("new sealer: %v", err)
	}
	return s
}

// The objects a cluster and a role binding of NewObject refer to; CreateTargets stores them.
const (
	TargetAccount = "acct-1"
	TargetProfile = "base"
	TargetUser    = "target-user"
	TargetRole    = "target-role"
	TargetFilter  = "target-filter"
)

// NewObject returns a valid-looking object of kind named name, with a spec worth storing. A
// CloudAccount carries no secret and uses no gateway; a ClusterProfile has version 1.0.0; a
// Cluster refers to the account TargetAccount and the profile TargetProfile 1.0.0, a
// RoleBinding to the user TargetUser, the role TargetRole and the filter TargetFilter, an
// APIKey to the user TargetUser, which must be stored first (CreateTargets).
func NewObject(kind, name string) v1alpha1.Object {
	tm := v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: kind}
	meta := v1alpha1.ObjectMeta{Name: name, Labels: map[string]string{"team": "platform"}}
	if obj := newAccessObject(tm, meta); obj != nil {
		return obj
	}
	switch kind {
	case v1alpha1.KindCloudAccount:
		return &v1alpha1.CloudAccount{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.CloudAccountSpec{
			Azure: v1alpha1.AzureCredentials{
				TenantID:    "7f1c0a5e-3c52-4b8e-9d0e-2a7b9c6d1e40",
				ClientID:    "client-" + name,
				Environment: v1alpha1.EnvironmentPublic,
			},
		}}
	case v1alpha1.KindPrivateCloudGateway:
		return &v1alpha1.PrivateCloudGateway{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.PrivateCloudGatewaySpec{
			Proxy: &v1alpha1.ProxySettings{
				HTTPProxy:  "http://proxy.corp.example:3128",
				HTTPSProxy: "http://proxy.corp.example:3128",
				NoProxy:    []string{"10.0.0.0/8", ".corp.example"},
			},
			Network: &v1alpha1.GatewayNetwork{ResourceGroup: "rg-gw", VirtualNetwork: "vnet-gw"},
		}}
	case v1alpha1.KindClusterProfile:
		return &v1alpha1.ClusterProfile{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.ClusterProfileSpec{
			Version: "1.0.0",
			Cloud:   v1alpha1.ProfileCloudAzure,
			Type:    v1alpha1.ProfileTypeInfra,
			Layers: []v1alpha1.Layer{
				{Name: "ubuntu", Type: v1alpha1.LayerOS, Version: "22.04"},
				{Name: "kubernetes", Type: v1alpha1.LayerKubernetes, Version: "1.30.2", Values: "podCIDR: 192.168.0.0/16\n"},
				{Name: "cilium", Type: v1alpha1.LayerNetwork, Version: "1.15.6"},
				{Name: "azure-disk", Type: v1alpha1.LayerStorage, Version: "1.30.0",
					Manifests: []v1alpha1.Manifest{{Name: "sc", Content: "kind: StorageClass\n"}}},
			},
		}}
	case v1alpha1.KindCluster:
		return &v1alpha1.Cluster{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.ClusterSpec{
			CloudAccount: TargetAccount,
			Profiles:     []v1alpha1.ProfileRef{{Name: TargetProfile, Version: "1.0.0"}},
			Tags:         []string{"env:test"},
			Azure: v1alpha1.ClusterAzure{
				Type:           v1alpha1.ClusterTypeIaaS,
				SubscriptionID: "0b5e4f52-8d2c-4f7a-a0b1-6f3d2e1c9a87",
				ResourceGroup:  "rg-" + name,
				Location:       "westeurope",
				SSHPublicKey:   "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample",
			},
			MachinePools: []v1alpha1.MachinePool{
				{Name: "cp", ControlPlane: true, Count: 3, InstanceType: "Standard_D4s_v5"},
				{Name: "workers", Count: 2, InstanceType: "Standard_D8s_v5", Zones: []string{"1", "2"}},
			},
		}}
	}
	panic("storetest: unknown kind " + kind)
}

// newAccessObject is NewObject for the access-control kinds, or nil for another kind.
func newAccessObject(tm v1alpha1.TypeMeta, meta v1alpha1.ObjectMeta) v1alpha1.Object {
	switch tm.Kind {
	case v1alpha1.KindRole:
		return &v1alpha1.Role{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.RoleSpec{
			Permissions: []string{"cluster.get", "cluster.list", "clusterProfile.*"},
		}}
	case v1alpha1.KindTagFilter:
		return &v1alpha1.TagFilter{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.TagFilterSpec{
			Conjunction: "and",
			Filters: []v1alpha1.TagFilterClause{
				{Key: "department", Operator: "eq", Values: []string{"finance"}},
				{Key: "env", Operator: "eq", Values: []string{"prod"}, Negation: true},
			},
		}}
	case v1alpha1.KindUser:
		return &v1alpha1.User{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.UserSpec{
			DisplayName: "User " + meta.Name, Email: meta.Name + "@example.com",
		}}
	case v1alpha1.KindTeam:
		return &v1alpha1.Team{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.TeamSpec{
			Members:     []string{TargetUser, "carol"},
			EntraGroups: []string{"0b9a3f1e-7c2d-4e5f-8a6b-9c0d1e2f3a4b"},
		}}
	case v1alpha1.KindRoleBinding:
		return &v1alpha1.RoleBinding{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.RoleBindingSpec{
			Subject: v1alpha1.BindingSubject{User: TargetUser}, Role: TargetRole, Filter: TargetFilter,
		}}
	case v1alpha1.KindAPIKey:
		return &v1alpha1.APIKey{TypeMeta: tm, Metadata: meta, Spec: v1alpha1.APIKeySpec{
			User: TargetUser, Description: "key " + meta.Name, ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		}}
	}
	return nil
}

// changeSpec changes obj's spec in a way that depends on n, so that different n give different
// specs.
func changeSpec(obj v1alpha1.Object, n int) {
	switch o := obj.(type) {
	case *v1alpha1.CloudAccount:
		o.Spec.Azure.ClientID = "client-changed-" + strconv.Itoa(n)
	case *v1alpha1.PrivateCloudGateway:
		o.Spec.Proxy.NoProxy = append(o.Spec.Proxy.NoProxy, "host-"+strconv.Itoa(n)+".corp.example")
	case *v1alpha1.ClusterProfile:
		o.Spec.Layers[0].Values = "revision: " + strconv.Itoa(n) + "\n"
	case *v1alpha1.Cluster:
		o.Spec.MachinePools[1].Count += n + 1
	case *v1alpha1.Role:
		o.Spec.Permissions = append(o.Spec.Permissions, "cluster.get-"+strconv.Itoa(n))
	case *v1alpha1.TagFilter:
		o.Spec.Filters[0].Values = append(o.Spec.Filters[0].Values, "team-"+strconv.Itoa(n))
	case *v1alpha1.User:
		o.Spec.DisplayName = "changed " + strconv.Itoa(n)
	case *v1alpha1.Team:
		o.Spec.Members = append(o.Spec.Members, "member-"+strconv.Itoa(n))
	case *v1alpha1.RoleBinding:
		// Every field of a binding refers to an object, but for a built-in role.
		builtin := authz.BuiltinRoles()
		o.Spec.Role = builtin[n%len(builtin)].Name
	case *v1alpha1.APIKey:
		o.Spec.Description = "changed " + strconv.Itoa(n)
	default:
		panic("storetest: unknown object type")
	}
}

// CreateTargets stores the account and the profile that the clusters of NewObject refer to, and
// the user, the role and the filter that its role bindings refer to, unless they are stored
// already.
func CreateTargets(tb testing.TB, s store.Store) {
	tb.Helper()
	for _, obj := range []v1alpha1.Object{
		NewObject(v1alpha1.KindCloudAccount, TargetAccount), NewObject(v1alpha1.KindClusterProfile, TargetProfile),
		NewObject(v1alpha1.KindUser, TargetUser), NewObject(v1alpha1.KindRole, TargetRole), NewObject(v1alpha1.KindTagFilter, TargetFilter),
	} {
		if err := s.Create(tb.Context(), obj); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			tb.Fatalf("create %s %s: %v", obj.GetTypeMeta().Kind, obj.Key(), err)
		}
	}
}
