package azure

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

func TestOwned(t *testing.T) {
	tests := []struct {
		name string
		f    ownerFacts
		want bool
	}{
		{"recorded, no tag", ownerFacts{Recorded: true, Want: "u1"}, true},
		{"recorded, another owner's tag", ownerFacts{Recorded: true, Tag: "u2", Tagged: true, Want: "u1"}, true},
		{"our tag, not recorded (crash before the inventory write)", ownerFacts{Tag: "u1", Tagged: true, Want: "u1"}, true},
		{"another owner's tag", ownerFacts{Tag: "u2", Tagged: true, Want: "u1"}, false},
		{"no tag", ownerFacts{Want: "u1"}, false},
		{"empty tag, no owner known", ownerFacts{Tag: "", Tagged: true, Want: ""}, false},
		{"tag differs in case", ownerFacts{Tag: "U1", Tagged: true, Want: "u1"}, false},
		{"in a resource of the cluster", ownerFacts{ParentRecorded: true, Want: "u1"}, true},
		{"another owner's, in a resource of the cluster", ownerFacts{ParentRecorded: true, Tag: "u2", Tagged: true, Want: "u1"}, true},
	}
	for _, tt := range tests {
		if got := owned(tt.f); got != tt.want {
			t.Errorf("%s: owned(%+v) = %v, want %v", tt.name, tt.f, got, tt.want)
		}
	}
}

// exampleGraph plans an example cluster (file) of the given UID into the emulator's
// subscription, region and resource group rg, with one machine per pool.
func exampleGraph(t *testing.T, env *emulatortest.Env, c *Clients, file, rg, uid string) *plan.Graph {
	t.Helper()
	decode := func(name string) v1alpha1.Object {
		b, err := fs.ReadFile(examples.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := v1alpha1.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v1alpha1.Default(objs[0])
		return objs[0]
	}
	cl := decode(file).(*v1alpha1.Cluster)
	cl.Metadata.UID = uid
	cl.Spec.Azure.SubscriptionID, cl.Spec.Azure.Location, cl.Spec.Azure.ResourceGroup = env.SubscriptionID, env.Location, rg
	for i := range cl.Spec.MachinePools {
		mp := &cl.Spec.MachinePools[i]
		mp.Count, mp.Min, mp.Max = 1, nil, nil
	}
	profile := "profile-iaas.yaml"
	if cl.Spec.Azure.Type == v1alpha1.ClusterTypeAKS {
		profile = "profile-aks.yaml"
	}
	secrets, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	zones, err := c.ZonesBySize(testCtx(t), env.Location)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(env.URL)
	g, err := plan.Build(plan.Input{
		Cluster:  cl,
		Profiles: []*v1alpha1.ClusterProfile{decode(profile).(*v1alpha1.ClusterProfile)},
		Env:      plan.Environment{Zones: zones, ImageBaseURL: "https://" + u.Host + "/strataimages/vhds/", BlobEndpoint: c.BlobEndpoint},
		Secrets:  secrets,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// applyAll applies every node of g in order, as the reconciler does for a new cluster.
func applyAll(t *testing.T, ap Applier, g *plan.Graph, inv Inventory) {
	t.Helper()
	ctx := testCtx(t)
	for _, n := range g.Nodes {
		if _, err := ap.Apply(ctx, n, inv); err != nil {
			t.Fatalf("apply %s: %v", n.Key, err)
		}
	}
}

// stored is a resource as the emulator keeps it (nil when absent): its body and the sequence
// number of its last write.
func stored(env *emulatortest.Env, id string) []byte {
	for _, r := range env.Emulator.Engine().Snapshot().Resources {
		if strings.EqualFold(r.ID, id) {
			b, _ := json.Marshal(struct {
				Body map[string]any
				Seq  uint64
			}{r.Body, r.Seq})
			return b
		}
	}
	return nil
}

// withoutOwnerTags removes the owner tag from every spec of g: resources made by hand.
func withoutOwnerTags(g *plan.Graph) {
	for _, n := range g.Nodes {
		if n.Spec == nil {
			continue
		}
		v := reflect.ValueOf(n.Spec)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		if f := v.FieldByName("Tags"); f.IsValid() && f.Kind() == reflect.Map && !f.IsNil() {
			f.SetMapIndex(reflect.ValueOf(v1alpha1.TagOwner), reflect.Value{})
		}
	}
}

// TestOwnershipConflicts makes every resource of an IaaS and an AKS cluster under the names
// strata would give them, owned by someone else — another cluster's owner tag, or no owner tag
// at all (made by hand) — then applies the cluster's own graph over them: every managed node
// of every kind is a ConflictError naming the resource and its owner, with no write sent, the
// resource untouched and nothing recorded in the inventory.
func TestOwnershipConflicts(t *testing.T) {
	env := emulatortest.Start(t)
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	kinds := map[plan.Kind]bool{}
	for _, tc := range []struct {
		name, file string
		untagged   bool
	}{
		{"iaas, another cluster's", "cluster-iaas-dynamic.yaml", false},
		{"iaas, made by hand", "cluster-iaas-dynamic.yaml", true},
		{"aks, another cluster's", "cluster-aks.yaml", false},
		{"aks, made by hand", "cluster-aks.yaml", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rg := strings.NewReplacer(" ", "-", ",", "", "'", "").Replace(tc.name)
			env.ResourceGroup(t, rg)
			theirs := exampleGraph(t, env, c, tc.file, rg, "uid-theirs")
			if tc.untagged {
				withoutOwnerTags(theirs)
			}
			applyAll(t, ap, theirs, &memInventory{owner: "uid-theirs"})

			inv := &memInventory{owner: "uid-mine"}
			for _, n := range exampleGraph(t, env, c, tc.file, rg, "uid-mine").Nodes {
				if !n.Managed {
					continue
				}
				kinds[n.Kind] = true
				before, writes := stored(env, n.ID), c.Writes()
				_, err := ap.Apply(ctx, n, inv)
				var ce *ConflictError
				if !errors.As(err, &ce) || ce.ID != n.ID || !IsPermanent(err) || !strings.Contains(err.Error(), n.ID) {
					t.Errorf("%s: Apply = %v, want a ConflictError naming %s", n.Key, err, n.ID)
					continue
				}
				if want := `"uid-theirs"`; !tc.untagged && ce.Tagged && !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %v does not name the owner %s", n.Key, err, want)
				}
				if c.Writes() != writes {
					t.Errorf("%s: %d write(s) sent: %v", n.Key, c.Writes()-writes, c.Requests())
				}
				if after := stored(env, n.ID); string(after) != string(before) {
					t.Errorf("%s: the resource changed:\nbefore %s\nafter  %s", n.Key, before, after)
				}
				if inv.Manages(n.ID) {
					t.Errorf("%s: recorded in the inventory", n.Key)
				}
			}
		})
	}
	var want []plan.Kind
	for _, k := range []plan.Kind{plan.KindVirtualNetwork, plan.KindNetworkSecurityGroup, plan.KindSubnet, plan.KindPublicIPAddress,
		plan.KindNatGateway, plan.KindLoadBalancer, plan.KindNetworkInterface, plan.KindStorageAccount, plan.KindBlobContainer,
		plan.KindBlobCopy, plan.KindImage, plan.KindVirtualMachine, plan.KindOSDisk, plan.KindManagedCluster, plan.KindAgentPool} {
		if !kinds[k] {
			want = append(want, k)
		}
	}
	if len(want) > 0 {
		t.Errorf("kinds not covered: %v", want)
	}
}

// TestOwnershipAdoptsItsOwn applies a cluster's graph, then applies it again with an empty
// inventory, as after a crash between Azure's write and the inventory's: every resource carries
// the cluster's owner tag (or lives in one that does) and is adopted as its own, with no write.
func TestOwnershipAdoptsItsOwn(t *testing.T) {
	env := emulatortest.Start(t)
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	for _, file := range []string{"cluster-iaas-dynamic.yaml", "cluster-aks.yaml"} {
		rg := strings.TrimSuffix(file, ".yaml")
		env.ResourceGroup(t, rg)
		g := exampleGraph(t, env, c, file, rg, "uid-mine")
		applyAll(t, ap, g, &memInventory{owner: "uid-mine"})
		inv := &memInventory{owner: "uid-mine"}
		writes := c.Writes()
		for _, n := range g.Nodes {
			r, err := ap.Apply(ctx, n, inv)
			if err != nil || r.Wrote {
				t.Errorf("%s: Apply = %+v, %v, want its own resource adopted without a write", n.Key, r, err)
			}
			if n.Managed && !inv.Manages(n.ID) {
				t.Errorf("%s: not recorded in the inventory", n.Key)
			}
		}
		if got := c.Writes() - writes; got != 0 {
			t.Errorf("%s: %d write(s): %v", file, got, c.Requests())
		}
	}
}

// TestDeleteLeavesAnotherOwnersResource deletes a node of the inventory whose resource was
// replaced, under the same name, by one carrying another owner's tag: it is left alone. The
// owner's own delete removes it.
func TestDeleteLeavesAnotherOwnersResource(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	n := vnetNode(rgID, "net", "10.1.0.0/16")
	n.Spec.(*armnetwork.VirtualNetwork).Tags[v1alpha1.TagOwner] = to.Ptr("uid-theirs")
	if _, err := ap.Apply(ctx, n, &memInventory{owner: "uid-theirs"}); err != nil {
		t.Fatal(err)
	}
	before := stored(env, n.ID)
	mine := &memInventory{owner: "uid-mine"}
	if err := mine.Claim(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := ap.Delete(ctx, n, mine); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if after := stored(env, n.ID); string(after) != string(before) {
		t.Fatalf("another owner's resource changed:\nbefore %s\nafter  %s", before, after)
	}
	if err := ap.Delete(ctx, n, &memInventory{owner: "uid-theirs"}); err != nil {
		t.Fatalf("the owner's Delete = %v", err)
	}
	if after := stored(env, n.ID); after != nil {
		t.Errorf("the owner's Delete left %s", after)
	}
}
