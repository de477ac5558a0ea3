package fromarm

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/plan"
)

// This file turns the graph strata's planner builds for an IaaS cluster into resources as the
// emulator's providers store them, so that the tests read the cloud-init strata really writes.

// iaasFixture is an IaaS cluster planned by internal/plan and stored as the providers would.
type iaasFixture struct {
	cluster   *v1alpha1.Cluster
	secrets   plan.BootstrapSecrets
	resources []*arm.Resource
	// ips are the private addresses given to the VMs' NICs, by computer name.
	ips map[string]string
	// endpoint is the API server's host:port, and publicIP its public IP's address.
	endpoint, publicIP string
}

// loadExample decodes and defaults one object of examples/.
func loadExample[T v1alpha1.Object](t *testing.T, name string) T {
	t.Helper()
	data, err := examples.FS.ReadFile(name)
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

// planIaaS plans examples/cluster-iaas-dynamic.yaml (3 control-plane machines and 3 workers
// in zones 1-3) with the given Kubernetes version, after modify (if any) changed the cluster,
// and stores the graph's resources. The public IP gets address publicIP.
func planIaaS(t *testing.T, version string, modify func(*v1alpha1.Cluster)) iaasFixture {
	t.Helper()
	return planIaaSAgent(t, version, modify, nil)
}

// planIaaSAgent is planIaaS with the agent's manifest (none when nil) in the init VM's
// cloud-init.
func planIaaSAgent(t *testing.T, version string, modify func(*v1alpha1.Cluster), agentManifest []byte) iaasFixture {
	t.Helper()
	c := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	if modify != nil {
		modify(c)
	}
	profile := loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")
	for i := range profile.Spec.Layers {
		if profile.Spec.Layers[i].Type == "kubernetes" {
			profile.Spec.Layers[i].Version = version
		}
	}
	secrets, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, err := plan.Build(plan.Input{
		Cluster: c, Profiles: []*v1alpha1.ClusterProfile{profile}, Secrets: secrets, AgentManifest: agentManifest,
		Env: plan.Environment{
			Zones:        map[string][]string{"Standard_D2s_v3": {"1", "2", "3"}, "Standard_D4s_v3": {"1", "2", "3"}},
			ImageBaseURL: "https://strataimages.blob.core.windows.net/vhds/",
			BlobEndpoint: func(a string) string { return "https://" + a + ".blob.core.windows.net/" },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := iaasFixture{cluster: c, secrets: secrets, ips: map[string]string{},
		endpoint: plan.APIServerEndpoint(c), publicIP: "127.77.0.12"}
	nicIPs := map[string]string{} // by lower-case NIC ID
	for _, n := range g.Nodes {
		if n.Kind == plan.KindNetworkInterface {
			nicIPs[arm.Key(n.ID)] = fmt.Sprintf("10.0.0.%d", 4+len(nicIPs))
		}
	}
	for _, n := range g.Nodes {
		if n.Spec == nil {
			continue
		}
		f.resources = append(f.resources, f.store(t, n, nicIPs))
	}
	return f
}

// withoutVersionFiles removes the Kubernetes version file (plan.KubernetesVersionPath) from
// every VM's cloud-init: machines as strata made them before it wrote the file.
func (f *iaasFixture) withoutVersionFiles(t *testing.T) {
	t.Helper()
	for _, r := range f.resources {
		if strings.EqualFold(r.Type, typeVirtualMachine) {
			f.editFiles(t, r, func(files []any) []any {
				return slices.DeleteFunc(files, func(e any) bool {
					m, _ := e.(map[string]any)
					return m["path"] == plan.KubernetesVersionPath
				})
			})
		}
	}
}

// store returns a graph node's resource as its provider keeps it: what Prepare computes (a
// NIC's private addresses, a public IP's address and fqdn, a VM's hidden customData and power
// state) and the engine's id, name, type and provisioningState.
func (f *iaasFixture) store(t *testing.T, n *plan.Node, nicIPs map[string]string) *arm.Resource {
	t.Helper()
	data, err := json.Marshal(n.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatal(err)
	}
	id := arm.ParseID(n.ID)
	r := &arm.Resource{ID: n.ID, Type: id.FullType(), Body: body}
	body["id"], body["name"], body["type"] = n.ID, id.Name, r.Type
	props := r.Properties()
	props["provisioningState"] = "Succeeded"
	switch n.Kind {
	case plan.KindNetworkInterface:
		for _, c := range props["ipConfigurations"].([]any) {
			cp := c.(map[string]any)["properties"].(map[string]any)
			cp["privateIPAddress"] = nicIPs[arm.Key(n.ID)]
		}
	case plan.KindPublicIPAddress:
		// The NAT gateways' addresses have no DNS name.
		props["ipAddress"] = fmt.Sprintf("127.77.1.%d", len(f.resources))
		if dns, ok := props["dnsSettings"].(map[string]any); ok {
			dns["fqdn"] = fmt.Sprintf("%s.%s.cloudapp.azure.com", dns["domainNameLabel"], body["location"])
		}
		if n.Role == plan.RoleAPIServer {
			props["ipAddress"] = f.publicIP
		}
	case plan.KindVirtualMachine:
		osProfile := props["osProfile"].(map[string]any)
		body[hiddenKey] = map[string]any{"customData": osProfile["customData"], "powerState": "running"}
		delete(osProfile, "customData")
		nic := props["networkProfile"].(map[string]any)["networkInterfaces"].([]any)[0].(map[string]any)
		f.ips[osProfile["computerName"].(string)] = nicIPs[arm.Key(nic["id"].(string))]
	}
	return r
}

// vm returns the stored VM whose name is the cluster's name and suffix (control-plane-0...).
func (f *iaasFixture) vm(t *testing.T, suffix string) *arm.Resource {
	t.Helper()
	for _, r := range f.resources {
		if strings.EqualFold(r.Type, typeVirtualMachine) && r.Name() == f.cluster.Metadata.Name+"-"+suffix {
			return r
		}
	}
	t.Fatalf("no VM %s", suffix)
	return nil
}

// without returns the resources but those of the given type whose name ends with suffix.
func (f *iaasFixture) without(typ, suffix string) []*arm.Resource {
	var out []*arm.Resource
	for _, r := range f.resources {
		if !strings.EqualFold(r.Type, typ) || !strings.HasSuffix(r.Name(), suffix) {
			out = append(out, r)
		}
	}
	return out
}

// writeFile adds to the cloud-init of the VM named with suffix a write_files entry: what
// strata's cloud-init writes beyond what the planner of this branch does (the machine's
// Kubernetes version).
func (f *iaasFixture) writeFile(t *testing.T, suffix, path, content string) {
	t.Helper()
	f.editFiles(t, f.vm(t, suffix), func(files []any) []any {
		files = slices.DeleteFunc(files, func(e any) bool {
			m, _ := e.(map[string]any)
			return m["path"] == path
		})
		return append(files, map[string]any{"path": path, "content": content})
	})
}

// editFiles changes the write_files entries of a VM's cloud-init.
func (f *iaasFixture) editFiles(t *testing.T, vm *arm.Resource, edit func([]any) []any) {
	t.Helper()
	hidden := vm.Body[hiddenKey].(map[string]any)
	data, err := base64.StdEncoding.DecodeString(hidden["customData"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var cc map[string]any
	if err := yaml.Unmarshal(data, &cc); err != nil {
		t.Fatal(err)
	}
	files, _ := cc["write_files"].([]any)
	cc["write_files"] = edit(files)
	out, err := yaml.Marshal(cc)
	if err != nil {
		t.Fatal(err)
	}
	hidden["customData"] = base64.StdEncoding.EncodeToString(append([]byte("#cloud-config\n"), out...))
}

// addVM adds a copy of the VM named with suffix named with newSuffix (name and computer
// name), on the same network interface: the successor a rolling replacement creates.
func (f *iaasFixture) addVM(t *testing.T, suffix, newSuffix string) {
	t.Helper()
	src := f.vm(t, suffix)
	data, err := json.Marshal(src.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatal(err)
	}
	name := f.cluster.Metadata.Name + "-" + newSuffix
	id := strings.TrimSuffix(src.ID, src.Name()) + name
	body["id"], body["name"] = id, name
	body["properties"].(map[string]any)["osProfile"].(map[string]any)["computerName"] = name
	f.resources = append(f.resources, &arm.Resource{ID: id, Type: src.Type, Body: body})
	f.ips[name] = f.ips[src.Name()]
}
