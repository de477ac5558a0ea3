package layers

import (
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// decode decodes YAML as the API client decodes JSON (integers as int64).
func decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := utiljson.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSubset(t *testing.T) {
	live := `
metadata: {name: web, namespace: default, uid: x, labels: {app: web, added: by-server}}
spec:
  replicas: 2
  ratio: 0.5
  enabled: true
  ports: [{port: 80, protocol: TCP}, {port: 443, protocol: TCP}]
  resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 500m}}
  empty: {}
  note: "1"
`
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"same keys", "metadata: {name: web, labels: {app: web}}\nspec: {replicas: 2}", true},
		{"everything", live, true},
		{"changed value", "spec: {replicas: 3}", false},
		{"int vs float", "spec: {replicas: 2.0, ratio: 0.5}", true},
		{"float differs", "spec: {ratio: 0.25}", false},
		{"missing key", "spec: {paused: false}", false},
		{"missing label", "metadata: {labels: {tier: front}}", false},
		{"list elements subset", "spec: {ports: [{port: 80}, {port: 443}]}", true},
		{"list shorter", "spec: {ports: [{port: 80}]}", false},
		{"list element differs", "spec: {ports: [{port: 80}, {port: 8443}]}", false},
		{"null matches anything", "metadata: {creationTimestamp: null}\nspec: {replicas: null}", true},
		{"empty map matches absent", "spec: {strategy: {}}\nmetadata: {annotations: {}}", true},
		{"empty list matches absent", "spec: {finalizers: []}", true},
		{"quantity normalised", "spec: {resources: {limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 0.5}}}", true},
		{"quantity differs", "spec: {resources: {limits: {cpu: 2}}}", false},
		{"number is not a string elsewhere", "spec: {note: 1}", false},
		{"bool differs", "spec: {enabled: false}", false},
		{"map vs scalar", "spec: {replicas: {value: 2}}", false},
		{"scalar vs map", "spec: {ports: 80}", false},
	}
	l := decode(t, live)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subset(decode(t, tt.want), l); got != tt.ok {
				t.Errorf("subset = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestDesiredSecretStringData(t *testing.T) {
	o := mustObject(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==}\nstringData: {b: bee, a: ay}")
	live := decode(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YXk=, b: YmVl}\ntype: Opaque")
	if !subset(desired(o), live) {
		t.Errorf("stringData not found in data: %v", desired(o))
	}
	if _, ok := o.Object["stringData"]; !ok {
		t.Error("desired modified the object")
	}
}
