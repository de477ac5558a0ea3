package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

// run executes the strata root with args and returns its exit code, stdout and stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	root := NewRoot(Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	code := Execute(context.Background(), root, args)
	return code, out.String(), errb.String()
}

// closedAddress returns an http address on which nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveKind(t *testing.T) {
	cases := map[string]string{
		"cluster": v1alpha1.KindCluster, "clusters": v1alpha1.KindCluster, "cl": v1alpha1.KindCluster,
		"CL": v1alpha1.KindCluster, "Cluster": v1alpha1.KindCluster,
		"cloudaccount": v1alpha1.KindCloudAccount, "cloudaccounts": v1alpha1.KindCloudAccount,
		"account": v1alpha1.KindCloudAccount, "accounts": v1alpha1.KindCloudAccount, "ca": v1alpha1.KindCloudAccount,
		"CloudAccount":   v1alpha1.KindCloudAccount,
		"clusterprofile": v1alpha1.KindClusterProfile, "clusterprofiles": v1alpha1.KindClusterProfile,
		"profile": v1alpha1.KindClusterProfile, "Profiles": v1alpha1.KindClusterProfile, "cp": v1alpha1.KindClusterProfile,
		"privatecloudgateway": v1alpha1.KindPrivateCloudGateway, "privatecloudgateways": v1alpha1.KindPrivateCloudGateway,
		"gateway": v1alpha1.KindPrivateCloudGateway, "gateways": v1alpha1.KindPrivateCloudGateway,
		"pcg": v1alpha1.KindPrivateCloudGateway, "PCGs": v1alpha1.KindPrivateCloudGateway,
	}
	for in, want := range cases {
		got, err := ResolveKind(in)
		if err != nil || got != want {
			t.Errorf("ResolveKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "pod", "clusterz", "c", "cluster/x"} {
		_, err := ResolveKind(bad)
		if err == nil {
			t.Errorf("ResolveKind(%q) succeeded", bad)
			continue
		}
		for _, want := range []string{"cluster (clusters, cl)", "cloudaccount", "clusterprofile", "privatecloudgateway"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ResolveKind(%q) error %q does not list %q", bad, err, want)
			}
		}
	}
}

func TestParseTargets(t *testing.T) {
	cases := []struct {
		args      []string
		allowList bool
		want      []target
		err       string
	}{
		{args: []string{"cl"}, allowList: true, want: []target{{Kind: v1alpha1.KindCluster}}},
		{args: []string{"cl"}, allowList: false, err: "name the cluster to get"},
		{args: []string{"cl", "a", "b"}, want: []target{{v1alpha1.KindCluster, "a"}, {v1alpha1.KindCluster, "b"}}},
		{args: []string{"cluster/a", "profile/base@1.0.0"}, want: []target{{v1alpha1.KindCluster, "a"}, {v1alpha1.KindClusterProfile, "base@1.0.0"}}},
		{args: []string{"cluster/a", "b"}, err: "KIND/NAME"},
		{args: []string{"nope", "a"}, err: "unknown resource type"},
		{args: []string{"cl", "a/b"}, err: "invalid name"},
		{args: nil, err: "name a resource type"},
	}
	for _, c := range cases {
		got, err := parseTargets("get", c.args, c.allowList)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseTargets(%q) error = %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("parseTargets(%q) = %v, %v; want %v", c.args, got, err, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("parseTargets(%q)[%d] = %v, want %v", c.args, i, got[i], c.want[i])
			}
		}
	}
}

func TestShortDuration(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{-5 * time.Second, "<invalid>"},
		{-500 * time.Millisecond, "0s"},
		{0, "0s"},
		{45 * time.Second, "45s"},
		{119 * time.Second, "119s"},
		{5*time.Minute + 10*time.Second, "5m10s"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "90m"},
		{3*time.Hour + 20*time.Minute, "3h20m"},
		{30 * time.Hour, "30h"},
		{3*24*time.Hour + 4*time.Hour, "3d4h"},
		{40 * 24 * time.Hour, "40d"},
		{3*365*24*time.Hour + 10*24*time.Hour, "3y10d"},
		{10 * 365 * 24 * time.Hour, "10y"},
	}
	for _, c := range cases {
		if got := shortDuration(c.d); got != c.want {
			t.Errorf("shortDuration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if got := humanAge(time.Now(), nil); got != "<unknown>" {
		t.Errorf("humanAge(nil) = %q", got)
	}
}

// testObjects decodes YAML objects for printer tests and stamps their creation time.
func testObjects(t *testing.T, yamlText string, created time.Time) []v1alpha1.Object {
	t.Helper()
	objs, err := v1alpha1.Decode([]byte(yamlText))
	if err != nil {
		t.Fatalf("decode test objects: %v", err)
	}
	for _, o := range objs {
		v1alpha1.Default(o)
		o.GetMetadata().CreationTimestamp = &created
	}
	return objs
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPrintTable(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-3 * time.Minute)
	cases := []struct {
		file string
		want string
	}{
		{"cluster-iaas-dynamic.yaml", "" +
			"NAME           TYPE   LOCATION     PHASE    AGE\n" +
			"iaas-dynamic   iaas   westeurope   <none>   3m\n"},
		{"cloudaccount.yaml", "" +
			"NAME         ENVIRONMENT        TENANT                                 GATEWAY   VALID     SUBSCRIPTIONS   AGE\n" +
			"azure-prod   AzurePublicCloud   0c263486-ca8b-474c-81ef-346c7ebeea82   <none>    Unknown   <none>          3m\n"},
		{"profile-iaas.yaml", "" +
			"NAME        VERSION   CLOUD   TYPE    LAYERS   AGE\n" +
			"iaas-base   1.0.0     azure   infra   4        3m\n"},
		{"gateway.yaml", "" +
			"NAME           PHASE    REPLICAS   PROXY                                AGE\n" +
			"corp-gateway   <none>   0          http://proxy.corp.example.com:3128   3m\n"},
	}
	for _, c := range cases {
		objs := testObjects(t, readExample(t, c.file), created)
		var b bytes.Buffer
		if err := printTable(&b, objs[0].GetTypeMeta().Kind, objs, now, false); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s table:\n%s\nwant:\n%s", c.file, b.String(), c.want)
		}
	}
}

func TestPrintObjectsRoundTrip(t *testing.T) {
	created := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	objs := testObjects(t, readExample(t, "cluster-iaas-dynamic.yaml")+"\n---\n"+readExample(t, "profile-aks.yaml"), created)
	for _, format := range []string{"yaml", "json"} {
		for _, set := range [][]v1alpha1.Object{objs[:1], objs} {
			var b bytes.Buffer
			if err := printObjects(&b, format, set); err != nil {
				t.Fatal(err)
			}
			if len(set) > 1 && !strings.Contains(b.String(), "List") {
				t.Errorf("%s of %d objects is not a List:\n%s", format, len(set), b.String())
			}
			back, err := v1alpha1.Decode(b.Bytes())
			if err != nil {
				t.Fatalf("%s output does not decode: %v\n%s", format, err, b.String())
			}
			if len(back) != len(set) {
				t.Fatalf("%s: decoded %d objects, want %d", format, len(back), len(set))
			}
			for i := range back {
				if back[i].Key() != set[i].Key() || back[i].GetTypeMeta().Kind != set[i].GetTypeMeta().Kind {
					t.Errorf("%s: object %d came back as %s", format, i, resourceName(back[i]))
				}
			}
			c := back[0].(*v1alpha1.Cluster)
			if c.Spec.MachinePools[1].Max == nil || *c.Spec.MachinePools[1].Max != 6 || !c.Metadata.CreationTimestamp.Equal(created) {
				t.Errorf("%s: fields lost in the round trip: %+v", format, c)
			}
		}
	}
	var b bytes.Buffer
	if err := printObjects(&b, "name", objs); err != nil {
		t.Fatal(err)
	}
	if want := "cluster/iaas-dynamic\nclusterprofile/aks-base@1.0.0\n"; b.String() != want {
		t.Errorf("-o name = %q, want %q", b.String(), want)
	}
}

func TestDescribeHidesSecret(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	objs := testObjects(t, readExample(t, "cloudaccount.yaml"), now.Add(-time.Hour))
	ca := objs[0].(*v1alpha1.CloudAccount)
	if ca.Spec.Azure.ClientSecret.Reveal() != "replace-me" {
		t.Fatalf("test setup: secret = %q", ca.Spec.Azure.ClientSecret.Reveal())
	}
	var b bytes.Buffer
	if err := describe(&b, ca, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "replace-me") {
		t.Fatalf("describe shows the secret:\n%s", out)
	}
	for _, want := range []string{
		"Name:", "azure-prod",
		"  azure:\n    tenantID: 0c263486-ca8b-474c-81ef-346c7ebeea82\n    clientID: 0074ad29-0377-473f-8280-fc6c8872b24d\n    clientSecret: (set)\n    environment: AzurePublicCloud\n",
		"Conditions:  <none>", "Events:  <none>", "Created:            2026-05-01T11:00:00Z (60m ago)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	ca.Spec.Azure.ClientSecret = v1alpha1.Secret{}
	b.Reset()
	if err := describe(&b, ca, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "clientSecret: (not set)") {
		t.Errorf("describe of an account without secret:\n%s", b.String())
	}
}

func TestDescribeCluster(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	objs := testObjects(t, readExample(t, "cluster-iaas-static.yaml"), now.Add(-10*time.Minute))
	c := objs[0].(*v1alpha1.Cluster)
	c.Status.Phase = "Provisioning"
	lt := now.Add(-2 * time.Minute)
	c.Status.Conditions = []v1alpha1.Condition{{Type: "NetworkReady", Status: "False", Reason: "Creating", Message: "creating\nsubnets", LastTransitionTime: &lt}}
	events := []client.Event{{Type: "Normal", Reason: "Created", Message: "cluster created", Time: now.Add(-10 * time.Minute)}}
	var b bytes.Buffer
	if err := describe(&b, c, events, nil, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Kind:               Cluster\n",
		"Spec:\n  cloudAccount: azure-corp\n  profiles:\n    - name: iaas-base\n      version: 1.0.0\n      values:\n        kubernetes: |\n          pack:\n            podCIDR: 172.16.0.0/16\n",
		"  tags:\n    - department:finance\n",
		"      controlPlaneSubnet:\n        name: strata-cp-subnet\n        cidr: 10.10.0.0/24\n",
		"      zones:\n        - \"1\"\n        - \"2\"\n",
		"Status:\n  phase: Provisioning\n  observedGeneration: 0\nConditions:\n",
		"Conditions:\n  TYPE           STATUS   REASON     AGE   MESSAGE\n  NetworkReady   False    Creating   2m    creating subnets\n",
		"Events:\n  TYPE     REASON    AGE   MESSAGE\n  Normal   Created   10m   cluster created\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
}

func TestDescribeClusterAgentAndLayers(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	objs := testObjects(t, readExample(t, "cluster-iaas-static.yaml"), now.Add(-10*time.Minute))
	c := objs[0].(*v1alpha1.Cluster)
	c.Status.Phase = "Provisioning"
	hb := now.Add(-30 * time.Second)
	c.Status.Agent = &v1alpha1.AgentStatus{Connected: true, Installed: true, Version: "v0.4.0", KubernetesVersion: "v1.30.9",
		LastHeartbeat: &hb, Server: "strata-1", Revision: "abc123"}
	c.Status.Layers = []v1alpha1.LayerStatus{
		{Profile: "iaas-base@1.0.0", Name: "cilium", Version: "1.15.0", Phase: "Ready", Objects: 12, Available: 12},
		{Profile: "iaas-base@1.0.0", Name: "csi-azuredisk", Version: "1.30.0", Phase: "Failed", Objects: 4, Available: 1,
			Message: "deployment csi-controller:\n\x1b[2Jnot available"},
		{Profile: "iaas-base@1.0.0", Name: "ingress", Phase: "Pending"},
	}
	var b bytes.Buffer
	if err := describe(&b, c, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Status:\n  phase: Provisioning\n  observedGeneration: 0\nAgent:\n",
		"Agent:\n" +
			"  Connected:            true\n" +
			"  Installed:            true\n" +
			"  Version:              v0.4.0\n" +
			"  Kubernetes Version:   v1.30.9\n" +
			"  Last Heartbeat:       2026-05-01T11:59:30Z (30s ago)\n" +
			"  Server:               strata-1\n" +
			"Layers:\n",
		"Layers:\n" +
			"  NAME            VERSION   PHASE     OBJECTS   MESSAGE\n" +
			"  cilium          1.15.0    Ready     12/12     \n" +
			"  csi-azuredisk   1.30.0    Failed    1/4       deployment csi-controller: \\x1b[2Jnot available\n" +
			"  ingress         <none>    Pending   0/0       \n" +
			"Conditions:  <none>\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "lastHeartbeat") {
		t.Errorf("describe shows an escape sequence or the agent twice:\n%s", out)
	}

	// Without an agent or layers, neither section is shown.
	c.Status.Agent, c.Status.Layers = nil, nil
	b.Reset()
	if err := describe(&b, c, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "Agent:") || strings.Contains(out, "Layers:") {
		t.Errorf("describe of a cluster without agent shows one:\n%s", out)
	}
}

func TestFileResolver(t *testing.T) {
	objs := testObjects(t, readExample(t, "profile-aks.yaml")+"\n---\n"+readExample(t, "cloudaccount.yaml"), time.Now())
	r := NewFileResolver(objs)
	ctx := context.Background()
	got, err := r.Lookup(ctx, v1alpha1.KindClusterProfile, "aks-base@1.0.0")
	if err != nil || got != objs[0] {
		t.Errorf("Lookup(profile aks-base@1.0.0) = %v, %v", got, err)
	}
	if got, err := r.Lookup(ctx, v1alpha1.KindCloudAccount, "azure-prod"); err != nil || got != objs[1] {
		t.Errorf("Lookup(account azure-prod) = %v, %v", got, err)
	}
	for _, ref := range [][2]string{
		{v1alpha1.KindClusterProfile, "aks-base@2.0.0"},
		{v1alpha1.KindClusterProfile, "aks-base"},
		{v1alpha1.KindCloudAccount, "other"},
		{v1alpha1.KindCluster, "azure-prod"},
	} {
		if _, err := r.Lookup(ctx, ref[0], ref[1]); !errors.Is(err, v1alpha1.ErrUnresolvable) {
			t.Errorf("Lookup(%s %s) error = %v, want ErrUnresolvable", ref[0], ref[1], err)
		}
	}
}

func TestValidateExamples(t *testing.T) {
	code, out, errOut := run(t, "", "validate", "-f", filepath.Join("..", "..", "examples"))
	if code != 0 {
		t.Fatalf("validate examples: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"cloudaccount/azure-prod valid", "privatecloudgateway/corp-gateway valid",
		"clusterprofile/iaas-base@1.0.0 valid", "clusterprofile/aks-base@1.0.0 valid",
		"cluster/iaas-dynamic valid", "cluster/iaas-static valid", "cluster/aks-prod valid",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateOffline(t *testing.T) {
	dir := t.TempDir()
	aksCluster := readExample(t, "cluster-aks.yaml")
	// An AKS cluster pinning the IaaS profile, which is among the files: the mismatch is found.
	mismatch := strings.Replace(aksCluster, "name: aks-base", "name: iaas-base", 1)
	writeFile(t, dir, "profile.yaml", readExample(t, "profile-iaas.yaml"))
	writeFile(t, dir, "mismatch.yaml", mismatch)
	// A cluster whose account and profiles are not among the files: those checks are skipped.
	alone := writeFile(t, t.TempDir(), "alone.yaml", aksCluster)

	code, out, errOut := run(t, "", "validate", "-f", alone)
	if code != 0 || out != "cluster/aks-prod valid\n" {
		t.Errorf("validate of a lone cluster: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	code, out, errOut = run(t, "", "validate", "-f", dir)
	if code != 1 {
		t.Errorf("validate of a mismatched profile: exit %d", code)
	}
	if !strings.Contains(out, "clusterprofile/iaas-base@1.0.0 valid") {
		t.Errorf("stdout lacks the valid profile:\n%s", out)
	}
	wantErr := "error: " + filepath.Join(dir, "mismatch.yaml") + " (cluster/aks-prod):\n  spec.profiles[0]: "
	if !strings.Contains(errOut, wantErr) || !strings.Contains(errOut, "(mismatch)") {
		t.Errorf("stderr lacks %q and the mismatch rule:\n%s", wantErr, errOut)
	}
}

func TestValidateReportsEveryDocumentError(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", readExample(t, "gateway.yaml")+`
---
apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata:
  name: broken
spec:
  cloudAccount: azure-prod
  colour: blue
  azure:
    type: iaas
    vmSize: big
---
apiVersion: strata.dev/v1alpha1
kind: Widget
metadata:
  name: w
`)
	invalid := writeFile(t, dir, "invalid.yaml", strings.Replace(readExample(t, "cluster-iaas-dynamic.yaml"),
		"- department:finance", "- azure-owner:finance", 1))
	code, out, errOut := run(t, "", "validate", "-f", bad, "-f", invalid)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"error: " + bad + ", document 2 (cluster/broken):\n",
		"  spec.azure.vmSize: unknown field \"vmSize\" (unknown-field)\n",
		"  spec.colour: unknown field \"colour\" (unknown-field)\n",
		"error: " + bad + ", document 3:\n",
		"error: " + invalid + " (cluster/iaas-dynamic):\n  spec.tags[0]: ",
		"(reserved)\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "privatecloudgateway/corp-gateway valid") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestApplyDecodeErrorSendsNothing(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "a-good.yaml", readExample(t, "gateway.yaml"))
	bad := writeFile(t, dir, "b-bad.yaml", "apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  machinePools: 3\n")
	// Nothing listens at the server address: had apply sent anything, it would say so.
	code, out, errOut := run(t, "", "--server", closedAddress(t), "apply", "-f", good, "-f", bad)
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	want := "error: " + bad + " (cluster/x):\n  spec.machinePools: must be a list, not a number (type)\n"
	if errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
}

func TestApplyDuplicateObject(t *testing.T) {
	dir := t.TempDir()
	gw := readExample(t, "gateway.yaml")
	writeFile(t, dir, "one.yaml", gw)
	writeFile(t, dir, "two.yml", gw)
	writeFile(t, dir, "ignored.txt", "not a manifest")
	code, _, errOut := run(t, "", "--server", closedAddress(t), "apply", "-f", dir)
	if code != 1 || !strings.Contains(errOut, "privatecloudgateway/corp-gateway is also defined in "+filepath.Join(dir, "one.yaml")) {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestReadSourcesRecursive(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "top.yaml", "")
	writeFile(t, dir, "sub/inner.json", "")
	writeFile(t, dir, "sub/notes.md", "")
	srcs, err := readSources(nil, []string{dir}, false)
	if err != nil || len(srcs) != 1 || srcs[0].Name != filepath.Join(dir, "top.yaml") {
		t.Errorf("non-recursive: %v, %v", srcs, err)
	}
	srcs, err = readSources(nil, []string{dir}, true)
	if err != nil || len(srcs) != 2 || srcs[0].Name != filepath.Join(dir, "sub", "inner.json") {
		t.Errorf("recursive: %v, %v", srcs, err)
	}
	if _, err := readSources(strings.NewReader(""), []string{"-", "-"}, false); err == nil {
		t.Error("reading stdin twice succeeded")
	}
	empty := t.TempDir()
	if _, err := readSources(nil, []string{empty}, false); err == nil || !strings.Contains(err.Error(), "-R") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	addr := closedAddress(t)
	for _, args := range [][]string{
		{"get", "clusters"},
		{"describe", "cluster", "x"},
		{"delete", "cl", "x"},
		{"apply", "-f", filepath.Join("..", "..", "examples", "gateway.yaml")},
	} {
		code, out, errOut := run(t, "", append([]string{"--server", addr}, args...)...)
		want := "error: cannot reach the strata server at " + addr + " (connection refused): start one with 'strata server' or point --server / STRATA_SERVER at one\n"
		if code != 1 || out != "" || errOut != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "pods"}, "error: unknown resource type \"pods\": use one of cluster (clusters, cl); clusterprofile"},
		{[]string{"get", "cl", "-o", "xml"}, "error: unknown output format \"xml\""},
		{[]string{"get", "cl", "-w", "-o", "xml"}, "error: unknown output format \"xml\""},
		{[]string{"get", "-o", "xml"}, "error: unknown output format \"xml\""},
		{[]string{"describe"}, "error: requires at least 1 arg(s), only received 0\nSee 'strata describe --help' for usage."},
		{[]string{"delete", "cluster"}, "error: name the cluster to delete"},
		{[]string{"apply"}, "error: no input"},
		{[]string{"apply", "-f", "x.yaml", "extra"}, "See 'strata apply --help' for usage."},
		{[]string{"get", "--bogus"}, "error: unknown flag: --bogus\nSee 'strata get --help' for usage."},
		{[]string{"frobnicate"}, "error: unknown command \"frobnicate\""},
	}
	for _, c := range cases {
		code, _, errOut := run(t, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant %q", c.args, code, errOut, c.want)
		}
		if strings.Contains(errOut, "Flags:") {
			t.Errorf("%v: printed the usage:\n%s", c.args, errOut)
		}
	}
}

func TestVersionAndResources(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "strata ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = run(t, "", "api-resources")
	if code != 0 || !strings.Contains(out, "\nclusters               cl                          Cluster\n") {
		t.Errorf("api-resources: %d\n%s", code, out)
	}
}

func TestYAMLString(t *testing.T) {
	cases := map[string]string{
		"plain": "plain", "1": `"1"`, "22.04": `"22.04"`, "1.30.4": "1.30.4", "true": `"true"`, "No": `"No"`,
		"null": `"null"`, "department:finance": "department:finance", "a: b": `"a: b"`, "-x": `"-x"`,
		"*": `"*"`, " pad": `" pad"`, "http://proxy:3128": "http://proxy:3128", "a #b": `"a #b"`,
	}
	for in, want := range cases {
		if got := yamlString(in); got != want {
			t.Errorf("yamlString(%q) = %s, want %s", in, got, want)
		}
	}
}
