package agentmanifest_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/proxyenv"
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

// TestRenderProxy: behind a gateway, the agent's proxy variables go into the Secret (a proxy
// URL may hold a password) and reach the container through secretKeyRefs, never as values in
// the Deployment; without a proxy the container has none.
func TestRenderProxy(t *testing.T) {
	const proxy = "http://user:pa55@proxy.corp:3128"
	cases := []struct {
		name  string
		proxy []proxyenv.EnvVar
		want  []string
	}{
		{"direct", nil, nil},
		{"gateway", []proxyenv.EnvVar{{Name: "HTTPS_PROXY", Value: proxy}, {Name: "NO_PROXY", Value: "10.96.0.0/12,.svc"}, {Name: "https_proxy", Value: proxy}},
			[]string{"HTTPS_PROXY", "NO_PROXY", "https_proxy"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := agentmanifest.Render(agentmanifest.Options{Image: "i:v1", Server: "s:1", CAPEM: []byte("c"), Token: "t", Proxy: c.proxy})
			if err != nil {
				t.Fatal(err)
			}
			var sec corev1.Secret
			var dep appsv1.Deployment
			for _, doc := range strings.Split(string(b), "---\n") {
				switch {
				case strings.Contains(doc, "kind: Secret"):
					_ = yaml.Unmarshal([]byte(doc), &sec)
				case strings.Contains(doc, "kind: Deployment"):
					_ = yaml.Unmarshal([]byte(doc), &dep)
				}
			}
			var fromSecret []string
			for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
					if ref.SecretKeyRef.Name != agentmanifest.ConfigSecret || sec.StringData[ref.SecretKeyRef.Key] == "" {
						t.Errorf("%s refers to %s/%s, which the Secret lacks", e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
					}
					fromSecret = append(fromSecret, e.Name)
				}
			}
			if strings.Join(fromSecret, ",") != strings.Join(c.want, ",") {
				t.Errorf("variables from the Secret %v, want %v", fromSecret, c.want)
			}
			for _, v := range c.proxy {
				if sec.StringData[v.Name] != v.Value {
					t.Errorf("Secret %s = %q, want %q", v.Name, sec.StringData[v.Name], v.Value)
				}
			}
			depYAML, _ := yaml.Marshal(dep)
			if strings.Contains(string(depYAML), "pa55") {
				t.Errorf("the Deployment carries the proxy's password:\n%s", depYAML)
			}
		})
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
