package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
)

const gatewayYAML = `apiVersion: strata.dev/v1alpha1
kind: PrivateCloudGateway
metadata:
  name: %s
spec: {}
`

func TestDecodeDocuments(t *testing.T) {
	gw := func(name string) string { return fmt.Sprintf(gatewayYAML, name) }
	gwJSON := `{"apiVersion":"strata.dev/v1alpha1","kind":"PrivateCloudGateway","metadata":{"name":"%s"},"spec":{}}`
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"one YAML document", gw("a"), []string{"a"}},
		{"three documents with empty ones and comments", "---\n" + gw("a") + "--- # next\n\n---\n" + gw("b") + "---\n" + gw("c"), []string{"a", "b", "c"}},
		{"one JSON object", fmt.Sprintf(gwJSON, "a"), []string{"a"}},
		{"a JSON array", "[" + fmt.Sprintf(gwJSON, "a") + "," + fmt.Sprintf(gwJSON, "b") + "]", []string{"a", "b"}},
		{"a YAML List after another document", gw("a") + "---\napiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(gw("b")), "\n", "\n  ") + "\n- " + strings.ReplaceAll(strings.TrimSpace(gw("c")), "\n", "\n  ") + "\n", []string{"a", "b", "c"}},
		{"a JSON List", `{"kind":"List","items":[` + fmt.Sprintf(gwJSON, "a") + `]}`, []string{"a"}},
		{"empty input", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := v1alpha1.Decode([]byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range objs {
				names = append(names, o.GetMetadata().Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Fatalf("names = %v, want %v", names, tc.want)
			}
		})
	}
}

// TestDecodeDuplicateKeys checks that a key given twice is refused at its path in every form of
// input, and that what YAML allows (a merge key's values overridden, anchors and aliases) is not
// taken for one.
func TestDecodeDuplicateKeys(t *testing.T) {
	gw := func(name string) string { return fmt.Sprintf(gatewayYAML, name) }
	indent := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ") }
	tests := []struct {
		name  string
		input string
		want  []string // "document field rule"
	}{
		{"YAML, second document", gw("a") + "---\n" + strings.Replace(gw("b"), "name: b\n", "name: b\n  name: c\n", 1), []string{"2 metadata.name duplicate"}},
		{"YAML, key three times", "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nkind: PrivateCloudGateway\nmetadata: {name: a}\nkind: PrivateCloudGateway\nspec: {}\n",
			[]string{"1 kind duplicate", "1 kind duplicate"}},
		{"YAML flow mapping", "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: {name: a, name: b}\nspec: {}\n", []string{"1 metadata.name duplicate"}},
		{"quoted and plain spellings of one key", "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: {name: a, \"name\": b}\nspec: {}\n", []string{"1 metadata.name duplicate"}},
		{"JSON array item", `[{"apiVersion":"strata.dev/v1alpha1","kind":"PrivateCloudGateway","metadata":{"name":"a"},"spec":{"network":{"resourceGroup":"x","resourceGroup":"y"}}}]`,
			[]string{"1 spec.network.resourceGroup duplicate"}},
		{"JSON List: a key of the list", `{"kind":"List","items":[],"items":[{"apiVersion":"strata.dev/v1alpha1","kind":"PrivateCloudGateway","metadata":{"name":"a"},"spec":{}}]}`,
			[]string{"1 items duplicate"}},
		{"YAML List: a key of an item", "kind: List\nitems:\n- " + indent(gw("a")) + "\n  kind: PrivateCloudGateway\n", []string{"1 items[0].kind duplicate"}},
		{"merge key overridden", "base: &base {name: a}\napiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata:\n  <<: *base\n  name: b\nspec: {}\n",
			[]string{"1 base unknown-field"}},
		{"anchor used twice", "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: &m {name: a}\nspec: {network: {resourceGroup: &rg x, virtualNetwork: *rg}}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v1alpha1.Decode([]byte(tc.input))
			var derrs v1alpha1.DecodeErrors
			if err != nil && !errors.As(err, &derrs) {
				t.Fatal(err)
			}
			var got []string
			for _, d := range derrs {
				for _, e := range d.Errors {
					got = append(got, fmt.Sprintf("%d %s %s", d.Index+1, e.Field, e.Rule))
					if e.Rule == v1alpha1.RuleDuplicate && !strings.Contains(e.Message, "twice (line") {
						t.Errorf("message %q does not say where the key is", e.Message)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q\n%v", got, tc.want, err)
			}
		})
	}
}

// TestDecodeKeepsIndentedDashes checks that only a "---" at the start of a line separates
// documents: an indented one inside a block scalar stays in the text.
func TestDecodeKeepsIndentedDashes(t *testing.T) {
	input := fmt.Sprintf(gatewayYAML, "a") + "---\n" + strings.Replace(fmt.Sprintf(gatewayYAML, "b"), "spec: {}",
		"spec:\n  proxy:\n    httpProxy: http://p:3128\n    caCertificate: |\n      ---\n      text\n", 1)
	objs, err := v1alpha1.Decode([]byte(input))
	if err != nil || len(objs) != 2 {
		t.Fatalf("objects = %d, err = %v", len(objs), err)
	}
	if got := objs[1].(*v1alpha1.PrivateCloudGateway).Spec.Proxy.CACertificate; got != "---\ntext\n" {
		t.Fatalf("caCertificate = %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		doc    int
		errors []string // "field rule"
	}{
		{"unknown kind", "apiVersion: strata.dev/v1alpha1\nkind: Pod\nmetadata: {name: a}\n", 0, []string{"kind enum"}},
		{"missing kind and apiVersion", "metadata: {name: a}\n", 0, []string{"apiVersion required", "kind required"}},
		{"YAML syntax", "apiVersion: [\n", 0, []string{" syntax"}},
		{"not an object", "- a\n- b\n", 0, []string{" type"}},
		{"every unknown field at once, second document", fmt.Sprintf(gatewayYAML, "a") + "---\n" + "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: {name: b, nmae: x}\nspec: {proxy: {httpProxy: 3128, noProxi: []}}\n", 1,
			[]string{"metadata.nmae unknown-field", "spec.proxy.httpProxy type", "spec.proxy.noProxi unknown-field"}},
		{"wrong type in a list element", "apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\nspec: {machinePools: [{name: a, count: 1.5}]}\n", 0, []string{"spec.machinePools[0].count type"}},
		{"secret that is not a string", "apiVersion: strata.dev/v1alpha1\nkind: CloudAccount\nmetadata: {name: a}\nspec: {azure: {clientSecret: {a: b}}}\n", 0, []string{"spec.azure.clientSecret type"}},
		{"timestamp that is not a time", "apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a, creationTimestamp: yesterday}\n", 0, []string{"metadata.creationTimestamp format"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v1alpha1.Decode([]byte(tc.input))
			var derrs v1alpha1.DecodeErrors
			if !errors.As(err, &derrs) || len(derrs) != 1 {
				t.Fatalf("err = %v, want one failing document", err)
			}
			if derrs[0].Index != tc.doc {
				t.Errorf("document index = %d, want %d", derrs[0].Index, tc.doc)
			}
			if got := fieldRules(derrs[0].Errors); !slices.Equal(got, tc.errors) {
				t.Errorf("errors = %q, want %q", got, tc.errors)
			}
		})
	}
}

func TestDocumentErrorNamesTheObject(t *testing.T) {
	_, err := v1alpha1.Decode([]byte("apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata: {name: web}\nspec: {colour: blue}\n"))
	if err == nil || !strings.Contains(err.Error(), "document 1 (Cluster web)") || !strings.Contains(err.Error(), `spec.colour: unknown field "colour"`) {
		t.Fatalf("error = %v", err)
	}
}

// TestSecretNeverEncoded checks every way a CloudAccount's secret could leave the process.
func TestSecretNeverEncoded(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-leak"
	objs, err := v1alpha1.Decode([]byte(`apiVersion: strata.dev/v1alpha1
kind: CloudAccount
metadata: {name: a}
spec:
  azure:
    tenantID: 72f988bf-86f1-41af-91ab-2d7cd011db47
    clientID: 04b07795-8ddb-461a-bbee-02f9e1bf7b46
    clientSecret: ` + secret + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	acct := objs[0].(*v1alpha1.CloudAccount)
	if acct.Spec.Azure.ClientSecret.Reveal() != secret {
		t.Fatalf("secret not decoded: %q", acct.Spec.Azure.ClientSecret.Reveal())
	}
	j, _ := json.Marshal(acct)
	y, _ := yaml.Marshal(acct)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("account", "secret", acct.Spec.Azure.ClientSecret, "azure", acct.Spec.Azure)
	outputs := map[string]string{
		"json": string(j), "yaml": string(y), "log": logs.String(),
		"%v": fmt.Sprintf("%v", acct), "%+v": fmt.Sprintf("%+v", acct), "%#v": fmt.Sprintf("%#v", acct.Spec.Azure),
		"Sprint": fmt.Sprint(acct.Spec.Azure.ClientSecret),
	}
	for name, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("%s output holds the secret: %s", name, out)
		}
	}
	if strings.Contains(string(j), "clientSecret") {
		t.Errorf("JSON has a clientSecret field: %s", j)
	}
	// A field without omitzero still only shows the placeholder.
	b, _ := json.Marshal(struct{ S v1alpha1.Secret }{acct.Spec.Azure.ClientSecret})
	if string(b) != `{"S":"[redacted]"}` {
		t.Errorf("bare Secret encodes as %s", b)
	}
}

// TestMarshalWithSecret checks that the one encoder meant for sending an object to the server
// carries the secret, so that decoding its output gives the secret back.
func TestMarshalWithSecret(t *testing.T) {
	acct := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	acct.Metadata.Name = "a"
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret("p@ss\"word")
	data, err := v1alpha1.MarshalWithSecret(acct)
	if err != nil {
		t.Fatal(err)
	}
	back, errs := v1alpha1.DecodeObject(data)
	if errs != nil {
		t.Fatal(errs)
	}
	if got := back.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal(); got != "p@ss\"word" {
		t.Fatalf("secret after the round trip = %q", got)
	}
	plain, _ := v1alpha1.MarshalWithSecret(v1alpha1.New(v1alpha1.KindCluster))
	if strings.Contains(string(plain), "clientSecret") {
		t.Fatalf("a kind without secret got one: %s", plain)
	}
}

// FuzzDecodeValidate feeds arbitrary input to decoding, defaulting and validation. None may
// panic, and a decoded object must survive a round trip: encoded and decoded again it encodes
// to the same JSON and breaks the same rules.
func FuzzDecodeValidate(f *testing.F) {
	for _, p := range []string{"testdata/fixtures.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			f.Add([]byte(doc))
		}
	}
	f.Add([]byte(`{"apiVersion":"strata.dev/v1alpha1","kind":"Cluster","metadata":{"name":"a"},"spec":{"tags":["azure:x"],"machinePools":[{"name":"a","count":2,"min":-1}]}}`))
	f.Add([]byte("apiVersion: strata.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: p}\nspec:\n  cloud: aks\n  layers:\n  - {name: k, type: kubernetes, version: '1', values: 'managedControlPlane: {sku: Free, aadProfile: {managed: true}}'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := v1alpha1.Decode(data)
		for _, obj := range objs {
			v1alpha1.Default(obj)
			errs := v1alpha1.Validate(t.Context(), obj, nil)
			first, err := json.Marshal(obj)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			again, derrs := v1alpha1.DecodeObject(first)
			if derrs != nil {
				t.Fatalf("decoded object does not decode again: %v\n%s", derrs, first)
			}
			if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
				if err := again.(v1alpha1.SecretCarrier).SetSecretText(sc.SecretText()); err != nil {
					t.Fatal(err)
				}
			}
			v1alpha1.Default(again)
			second, _ := json.Marshal(again)
			if !bytes.Equal(first, second) {
				t.Fatalf("round trip changed the object:\n%s\n%s", first, second)
			}
			if a, b := fieldRules(errs), fieldRules(v1alpha1.Validate(t.Context(), again, nil)); !slices.Equal(a, b) {
				t.Fatalf("round trip changed validation: %q vs %q", a, b)
			}
		}
	})
}
