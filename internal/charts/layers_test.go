package charts

import (
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestForLayersRendersALayersChart(t *testing.T) {
	srv := newRepo(t, nil)
	r := ForLayers{newRenderer(t, srv.Server, "", nil)}
	ref := demo(srv.URL)
	chart := v1alpha1.Chart{Repository: ref.Repository, Name: ref.Name, Version: ref.Version, Namespace: "ignored"}
	out, err := r.Render(t.Context(), chart, "web", "apps", "replicaCount: 3\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"replicas: 3", "name: web-demo\n  namespace: apps", "kind: CustomResourceDefinition"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if _, err := r.Render(t.Context(), v1alpha1.Chart{Repository: ref.Repository, Name: "demo", Version: "9.9.9"}, "web", "apps", ""); err == nil {
		t.Error("a version the repository lacks rendered")
	}
}
