package layers

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// mustObject decodes a YAML object for tests.
func mustObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	o, err := parseDocument([]byte(doc))
	if err != nil || o == nil {
		t.Fatalf("parse %q: %v", doc, err)
	}
	return o.u
}

func TestAvailable(t *testing.T) {
	deploy := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default, generation: 2}\n"
	sts := "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: data, generation: 1}\n"
	ds := "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system, generation: 1}\n"
	job := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, namespace: default}\n"
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"
	tests := []struct {
		name, obj string
		want      bool
		why       string // substring of the message, which always names the object
	}{
		{"deployment ready", deploy + "spec: {replicas: 2}\nstatus: {observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2}", true, ""},
		{"deployment default one replica", deploy + "status: {observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1}", true, ""},
		{"deployment no status", deploy + "spec: {replicas: 2}", false, "Deployment default/web: generation 2 not observed yet (observed 0)"},
		{"deployment old generation", deploy + "spec: {replicas: 2}\nstatus: {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2}", false, "generation 2 not observed"},
		{"deployment rolling", deploy + "spec: {replicas: 2}\nstatus: {observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2}", false, "Deployment default/web: 1 of 2 replicas updated"},
		{"deployment old pods", deploy + "spec: {replicas: 2}\nstatus: {observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2}", false, "1 old replicas pending termination"},
		{"deployment unavailable", deploy + "spec: {replicas: 2}\nstatus: {observedGeneration: 2, replicas: 2, updatedReplicas: 2}", false, "Deployment default/web: 0 of 2 replicas available"},
		{"deployment scaled to zero", deploy + "spec: {replicas: 0}\nstatus: {observedGeneration: 2}", true, ""},
		{"statefulset ready", sts + "spec: {replicas: 3}\nstatus: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 3}", true, ""},
		{"statefulset not ready", sts + "spec: {replicas: 3}\nstatus: {observedGeneration: 1, readyReplicas: 1, updatedReplicas: 3}", false, "StatefulSet data/db: 1 of 3 replicas ready"},
		{"statefulset not updated", sts + "spec: {replicas: 3}\nstatus: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1}", false, "1 of 3 replicas updated"},
		{"statefulset partition", sts + "spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}\nstatus: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1}", true, ""},
		{"statefulset on delete", sts + "spec: {replicas: 3, updateStrategy: {type: OnDelete}}\nstatus: {observedGeneration: 1, readyReplicas: 3}", true, ""},
		{"daemonset ready", ds + "status: {observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3}", true, ""},
		{"daemonset no nodes", ds + "status: {observedGeneration: 1}", true, ""},
		{"daemonset not updated", ds + "status: {observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3}", false, "DaemonSet kube-system/agent: 2 of 3 scheduled pods updated"},
		{"daemonset not available", ds + "status: {observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 1}", false, "1 of 3 scheduled pods available"},
		{"job complete", job + "status: {succeeded: 1, conditions: [{type: Complete, status: 'True'}]}", true, ""},
		{"job running", job + "status: {active: 1}", false, "Job default/migrate: not complete (0 pods succeeded)"},
		{"job failed", job + "status: {conditions: [{type: Failed, status: 'True', reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}]}", false, "Job default/migrate: failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{"crd established", crd + "status: {conditions: [{type: NamesAccepted, status: 'True'}, {type: Established, status: 'True'}]}", true, ""},
		{"crd new", crd + "spec: {}", false, "CustomResourceDefinition widgets.example.com: not Established"},
		{"crd names conflict", crd + "status: {conditions: [{type: NamesAccepted, status: 'False', reason: KindConflict, message: taken}]}", false, "names not accepted: KindConflict: taken"},
		{"configmap exists", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}", true, ""},
		{"being deleted", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default, deletionTimestamp: '2026-01-01T00:00:00Z'}", false, "ConfigMap default/c: being deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := mustObject(t, tt.obj)
			// The API returns numbers decoded from JSON; check float64 too.
			js, err := yaml.Marshal(obj.Object)
			if err != nil {
				t.Fatal(err)
			}
			var floats map[string]any
			if err := yaml.Unmarshal(js, &floats); err != nil {
				t.Fatal(err)
			}
			for _, o := range []*unstructured.Unstructured{obj, {Object: floats}} {
				ok, why := available(o)
				if ok != tt.want || !strings.Contains(why, tt.why) {
					t.Errorf("available = %v, %q; want %v, %q", ok, why, tt.want, tt.why)
				}
				if !ok && !strings.HasPrefix(why, obj.GetKind()+" ") {
					t.Errorf("message %q does not name the object", why)
				}
			}
		})
	}
}
