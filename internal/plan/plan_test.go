package plan

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/strata-dev/strata/api/v1alpha1"
)

var update = flag.Bool("update", false, "regenerate the golden files under testdata/")

const secretsFile = "testdata/secrets.json"

// testSecrets are fixed bootstrap secrets, generated once into testdata so goldens are stable.
func testSecrets(t *testing.T) BootstrapSecrets {
	t.Helper()
	data, err := os.ReadFile(secretsFile)
	if os.IsNotExist(err) && *update {
		s, err := NewBootstrapSecrets(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = s.Marshal(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secretsFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	s, err := UnmarshalBootstrapSecrets(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadExample decodes and defaults one object of examples/.
func loadExample[T v1alpha1.Object](t *testing.T, name string) T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := v1alpha1.Decode(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decoding %s: %v (%d objects)", name, err, len(objs))
	}
	v1alpha1.Default(objs[0])
	o, ok := objs[0].(T)
	if !ok {
		t.Fatalf("%s holds a %T", name, objs[0])
	}
	return o
}

func testEnv(zones bool) Environment {
	env := Environment{
		ImageBaseURL: "https://strataimages.blob.core.windows.net/vhds/",
		BlobEndpoint: func(a string) string { return "https://" + a + ".blob.core.windows.net/" },
	}
	if zones {
		env.Zones = map[string][]string{
			"Standard_D2s_v3": {"3", "1", "2"},
			"Standard_D4s_v3": {"1", "2", "3"},
		}
	}
	return env
}

// testCase is one input of the golden and rule tests.
type testCase struct {
	name string
	in   Input
}

func testCases(t *testing.T) []testCase {
	t.Helper()
	secrets := testSecrets(t)
	profile := loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")
	profiles := []*v1alpha1.ClusterProfile{profile}
	dynamic := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	static := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-static.yaml")

	five := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	five.Metadata.Name = "five"
	five.Spec.MachinePools[0].Count = 1
	five.Spec.MachinePools[1].Count = 5
	five.Spec.MachinePools[1].Zones = nil // the region's zones of the size

	noZones := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	noZones.Metadata.Name = "nozones"
	noZones.Metadata.UID = "5f0c2b8e-6d1a-4c3e-9b7a-2e4f6a8c0d12"
	noZones.Spec.Azure.Location = "northcentralus"
	for i := range noZones.Spec.MachinePools {
		noZones.Spec.MachinePools[i].Zones = nil
	}

	// Behind an Internal load balancer, its private zone also linked to a gateway's network.
	internal := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-static.yaml")
	internal.Metadata.Name = "iaas-internal"
	internal.Spec.Azure.APIServerLB = &v1alpha1.APIServerLB{Type: v1alpha1.APIServerLBInternal, StaticIP: "10.10.0.10"}
	v1alpha1.Default(internal)
	gateway := &v1alpha1.GatewayNetwork{ResourceGroup: "gateway-rg", VirtualNetwork: "gateway-vnet"}

	return append([]testCase{
		{"dynamic", Input{Cluster: dynamic, Profiles: profiles, Env: testEnv(true), Secrets: secrets}},
		{"static", Input{Cluster: static, Profiles: profiles, Env: testEnv(true), Secrets: secrets}},
		{"five-vms-three-zones", Input{Cluster: five, Profiles: profiles, Env: testEnv(true), Secrets: secrets}},
		{"no-zones", Input{Cluster: noZones, Profiles: profiles, Env: testEnv(false), Secrets: secrets}},
		{"static-internal", Input{Cluster: internal, Profiles: profiles, Env: testEnv(true), Secrets: secrets, GatewayNetwork: gateway}},
	}, aksTestCases(t)...)
}

func build(t *testing.T, in Input) *Graph {
	t.Helper()
	g, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// render is the golden form of a graph: indented JSON with the specs as the SDK marshals them
// and the VMs' custom data replaced by a reference, then each VM's decoded cloud-config.
func render(t *testing.T, g *Graph) []byte {
	t.Helper()
	type node struct {
		Key       string
		Kind      Kind
		ID        string
		DependsOn []string `json:",omitempty"`
		Managed   bool
		Role      string
		Spec      json.RawMessage   `json:",omitempty"`
		Expect    map[string]string `json:",omitempty"`
	}
	var nodes []node
	var cloudInits bytes.Buffer
	for _, n := range g.Nodes {
		out := node{Key: n.Key, Kind: n.Kind, ID: n.ID, DependsOn: n.DependsOn, Managed: n.Managed, Role: n.Role, Expect: n.Expect}
		if n.Spec != nil {
			spec := n.Spec
			if vm, ok := spec.(armcompute.VirtualMachine); ok {
				data, err := base64.StdEncoding.DecodeString(*vm.Properties.OSProfile.CustomData)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&cloudInits, "\n=== custom data of %s ===\n%s", n.Key, data)
				p := *vm.Properties
				os := *p.OSProfile
				os.CustomData = new("<custom data of " + n.Key + ", below>")
				p.OSProfile = &os
				vm.Properties = &p
				spec = vm
			}
			raw, err := json.Marshal(spec)
			if err != nil {
				t.Fatal(err)
			}
			out.Spec = raw
		}
		nodes = append(nodes, out)
	}
	data, err := json.MarshalIndent(struct {
		Cluster string
		Nodes   []node
	}{g.Cluster, nodes}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(append(data, '\n'), cloudInits.Bytes()...)
}

func TestGolden(t *testing.T) {
	for _, tc := range testCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, build(t, tc.in))
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("graph differs from %s (run go test -update and review the diff)", path)
			}
		})
	}
}

// validate checks the graph's structure: unique keys and IDs, every dependency present and
// before its dependent (hence no cycle).
func validate(g *Graph) error {
	seen := map[string]bool{}
	ids := map[string]string{}
	for _, n := range g.Nodes {
		if seen[n.Key] {
			return fmt.Errorf("duplicate key %s", n.Key)
		}
		if other, ok := ids[strings.ToLower(n.ID)]; ok {
			return fmt.Errorf("%s and %s have the same ID %s", other, n.Key, n.ID)
		}
		if n.ID == "" || n.Kind == "" || n.Role == "" {
			return fmt.Errorf("%s has no ID, kind or role", n.Key)
		}
		for _, d := range n.DependsOn {
			if !seen[d] {
				return fmt.Errorf("%s depends on %s, missing or after it", n.Key, d)
			}
		}
		seen[n.Key] = true
		ids[strings.ToLower(n.ID)] = n.Key
	}
	return nil
}

func TestValidate(t *testing.T) {
	for _, tc := range testCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate(build(t, tc.in)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, tc := range testCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a, b := render(t, build(t, tc.in)), render(t, build(t, tc.in))
			if !bytes.Equal(a, b) {
				t.Error("two builds of the same input differ")
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	secrets := testSecrets(t)
	profile := loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")
	tests := []struct {
		name   string
		modify func(*Input)
		want   string
	}{
		{"no profile", func(in *Input) { in.Profiles = nil }, "no pinned profile has an os layer"},
		{"pods overlap vnet", func(in *Input) {
			in.Cluster.Spec.Profiles[0].Values = map[string]string{"kubernetes": "pack:\n  podCIDR: 10.0.0.0/8\n"}
		}, "overlaps"},
		{"no control plane", func(in *Input) { in.Cluster.Spec.MachinePools = in.Cluster.Spec.MachinePools[1:] }, "no control-plane pool"},
		{"bad secrets", func(in *Input) { in.Secrets.Token = "nope" }, "the token is not of the form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml"),
				Profiles: []*v1alpha1.ClusterProfile{profile}, Env: testEnv(true), Secrets: secrets}
			tt.modify(&in)
			_, err := Build(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
