package agentmanifest_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/agentmanifest"
)

func TestRender(t *testing.T) {
	b, err := agentmanifest.Render(agentmanifest.Options{Image: "example.com/strata:v1", Server: "strata.example:7443", CAPEM: []byte("CA"), Token: "uid.secret"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, doc := range strings.Split(string(b), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		kinds[head.Kind] = doc
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret", "Deployment"} {
		if kinds[k] == "" {
			t.Errorf("no %s in the manifest", k)
		}
	}
	var sec corev1.Secret
	if err := yaml.Unmarshal([]byte(kinds["Secret"]), &sec); err != nil {
		t.Fatal(err)
	}
	if sec.Namespace != agentmanifest.Namespace || sec.Name != agentmanifest.ConfigSecret ||
		sec.StringData["token"] != "uid.secret" || sec.StringData["server"] != "strata.example:7443" || sec.StringData["ca.crt"] != "CA" {
		t.Errorf("Secret %s/%s data %v", sec.Namespace, sec.Name, sec.StringData)
	}
	var dep appsv1.Deployment
	if err := yaml.Unmarshal([]byte(kinds["Deployment"]), &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != "example.com/strata:v1" || len(c.Args) != 1 || c.Args[0] != "agent" {
		t.Errorf("container image %q args %v", c.Image, c.Args)
	}
	if dep.Spec.Template.Spec.ServiceAccountName != agentmanifest.Name {
		t.Errorf("service account %q", dep.Spec.Template.Spec.ServiceAccountName)
	}
	tol := dep.Spec.Template.Spec.Tolerations
	if len(tol) != 1 || tol[0].Operator != corev1.TolerationOpExists || tol[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("tolerations %v: the agent must run where every node is tainted NoSchedule", tol)
	}
}

func TestRenderNeedsEverything(t *testing.T) {
	full := agentmanifest.Options{Image: "i", Server: "s:1", CAPEM: []byte("c"), Token: "t"}
	for name, change := range map[string]func(*agentmanifest.Options){
		"image": func(o *agentmanifest.Options) { o.Image = "" }, "server": func(o *agentmanifest.Options) { o.Server = "" },
		"ca": func(o *agentmanifest.Options) { o.CAPEM = nil }, "token": func(o *agentmanifest.Options) { o.Token = "" },
	} {
		o := full
		change(&o)
		if _, err := agentmanifest.Render(o); err == nil {
			t.Errorf("without %s: no error", name)
		}
	}
}
