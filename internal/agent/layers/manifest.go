package layers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// object is one object of a layer.
type object struct {
	doc    int    // 1-based position of its document in the layer's manifests
	source string // the "# Source:" comment Helm writes before the document, if any
	u      *unstructured.Unstructured
	gvk    schema.GroupVersionKind
	// mapping is the object's REST mapping, nil until resolved (a custom resource whose CRD
	// is in the same layer is resolved once that CRD is Established).
	mapping *meta.RESTMapping
}

// ref names the object as "Kind namespace/name" (or "Kind name" when cluster-scoped).
func (o *object) ref() string {
	return objRef(o.gvk.Kind, o.u.GetNamespace(), o.u.GetName())
}

// String names the object's document, for errors.
func (o *object) String() string {
	s := fmt.Sprintf("document %d (%s", o.doc, o.ref())
	if o.source != "" {
		s += ", " + o.source
	}
	return s + ")"
}

// key identifies the object independently of its API version.
func (o *object) key() objKey {
	return objKey{Group: o.gvk.Group, Kind: o.gvk.Kind, Namespace: o.u.GetNamespace(), Name: o.u.GetName()}
}

// objRef names an object as "Kind namespace/name" or "Kind name".
func objRef(kind, ns, name string) string {
	if ns == "" {
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}

// objKey identifies an object by group, kind, namespace and name.
type objKey struct{ Group, Kind, Namespace, Name string }

// claimSet maps the objects of the layers given to Sync, as written (namespace possibly
// empty), to their layer's name.
type claimSet map[objKey]string

// claimed reports whether some layer declares the object k (a namespaced object written
// without namespace is taken to be in "default").
func (c claimSet) claimed(k objKey) bool {
	if _, ok := c[k]; ok {
		return true
	}
	if k.Namespace == "default" {
		k.Namespace = ""
		_, ok := c[k]
		return ok
	}
	return false
}

// plan is a parsed layer: its objects in apply order, or why it cannot be applied.
type plan struct {
	objs []*object
	err  error
}

// parseAll parses every layer; an error is kept in the layer's plan, reported when its turn
// comes. An object declared by two layers is an error of the second one.
func parseAll(layers []Layer) ([]plan, claimSet) {
	plans := make([]plan, len(layers))
	claims := claimSet{}
	names := map[string]bool{}
	for i, l := range layers {
		if err := checkName(l.Name, names); err != nil {
			plans[i].err = err
			continue
		}
		objs, err := parseManifests(l.Manifests)
		if err == nil {
			err = claim(claims, l.Name, objs)
		}
		plans[i] = plan{objs: objs, err: err}
	}
	return plans, claims
}

// checkName verifies that a layer's name is usable and not seen before.
func checkName(name string, seen map[string]bool) error {
	if errs := validation.IsValidLabelValue(name); name == "" || len(errs) > 0 {
		return fmt.Errorf("invalid layer name %q: must be a non-empty label value: %s", name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(inventoryName(name)); len(errs) > 0 {
		return fmt.Errorf("invalid layer name %q: %s", name, strings.Join(errs, "; "))
	}
	if seen[name] {
		return fmt.Errorf("layer %q is listed twice", name)
	}
	seen[name] = true
	return nil
}

// claim records the objects of layer in claims, refusing those already there.
func claim(claims claimSet, layer string, objs []*object) error {
	own := make(map[objKey]bool, len(objs))
	for _, o := range objs {
		if own[o.key()] {
			return fmt.Errorf("%s: the object is declared twice in the layer", o)
		}
		own[o.key()] = true
		if other, ok := claims[o.key()]; ok {
			return fmt.Errorf("%s: the object is already in layer %q", o, other)
		}
	}
	for _, o := range objs {
		claims[o.key()] = layer
	}
	return nil
}

// parseManifests splits multi-document YAML into objects, Namespaces first, then
// CustomResourceDefinitions, then the others in their order.
func parseManifests(manifests string) ([]*object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	var objs []*object
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		o, err := parseDocument(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d%s: %w", doc, sourceSuffix(raw), err)
		}
		if o != nil {
			o.doc, o.source = doc, helmSource(raw)
			objs = append(objs, o)
		}
	}
	slices.SortStableFunc(objs, func(x, y *object) int { return applyRank(x.gvk) - applyRank(y.gvk) })
	return objs, nil
}

// parseDocument decodes one YAML document; nil for an empty one.
func parseDocument(raw []byte) (*object, error) {
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if js = bytes.TrimSpace(js); string(js) == "null" {
		return nil, nil
	}
	var content map[string]any
	if err := utiljson.Unmarshal(js, &content); err != nil {
		return nil, errors.New("not a Kubernetes object: a document must be a mapping")
	}
	u := &unstructured.Unstructured{Object: content}
	for _, f := range []string{"apiVersion", "kind", "metadata.name"} {
		if v, _, _ := unstructured.NestedString(content, strings.Split(f, ".")...); v == "" {
			return nil, fmt.Errorf("not a Kubernetes object: %s is missing or not a string", f)
		}
	}
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	if err != nil {
		return nil, fmt.Errorf("invalid apiVersion: %w", err)
	}
	if v, ok := u.GetLabels()[labelPartOf]; ok {
		return nil, fmt.Errorf("the manifest sets label %s=%s, which belongs to the tool applying it", labelPartOf, v)
	}
	return &object{u: u, gvk: gv.WithKind(u.GetKind())}, nil
}

// helmSource returns the path of a Helm "# Source: <path>" comment in a document, if any.
func helmSource(raw []byte) string {
	for line := range strings.Lines(string(raw)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return path
		}
	}
	return ""
}

// sourceSuffix is " (<path>)" for a document with a Helm source comment.
func sourceSuffix(raw []byte) string {
	if s := helmSource(raw); s != "" {
		return " (" + s + ")"
	}
	return ""
}

// applyRank orders objects: Namespaces, then CRDs, then everything else.
func applyRank(gvk schema.GroupVersionKind) int {
	switch gvk.GroupKind() {
	case gkNamespace:
		return 0
	case gkCRD:
		return 1
	}
	return 2
}

// Group-kinds treated specially.
var (
	gkNamespace   = schema.GroupKind{Kind: "Namespace"}
	gkCRD         = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	gkDeployment  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	gkStatefulSet = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	gkDaemonSet   = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	gkJob         = schema.GroupKind{Group: "batch", Kind: "Job"}
)
