package charts

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// render renders ch with vals for release name in namespace ns the way Helm's install action
// does without a cluster (helm template): the chart must be installable and fit the
// Kubernetes version, its dependencies are enabled or disabled by the values, the values are
// coalesced with the chart's defaults and checked against its schemas, and the templates are
// rendered by Helm's engine and sorted by Helm's manifest sorter.
func (r *Renderer) render(ctx context.Context, ch *chart.Chart, vals common.Values, name, ns string) (string, error) {
	if t := ch.Metadata.Type; t != "" && t != "application" {
		return "", fmt.Errorf("a chart of type %s is not installable", t)
	}
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, r.caps.KubeVersion.String()) {
		return "", fmt.Errorf("the chart requires Kubernetes %s, not %s", kv, r.caps.KubeVersion.Version)
	}
	if err := checkDependencies(ch); err != nil {
		return "", err
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return "", fmt.Errorf("process the chart's dependencies: %w", err)
	}
	skipSchema := false
	if ref := externalSchemaRef(ch); ref != "" {
		skipSchema = true
		r.log.Warn("chart values not checked against the chart's schema: it refers to another document",
			"chart", ch.Metadata.Name, "version", ch.Metadata.Version, "reference", ref)
	}
	opts := common.ReleaseOptions{Name: name, Namespace: ns, Revision: 1, IsInstall: true}
	top, err := commonutil.ToRenderValuesWithSchemaValidation(ch, vals, opts, r.caps, skipSchema)
	if err != nil {
		return "", fmt.Errorf("values: %w", err)
	}
	files, err := engine.Engine{}.RenderWithContext(ctx, ch, top)
	if err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	for file := range files {
		if strings.HasSuffix(file, "NOTES.txt") {
			delete(files, file)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", fmt.Errorf("the rendered manifests: %w", err)
	}
	return assemble(ch, hooks, manifests), nil
}

// assemble writes the CRDs of ch, its pre-install hooks, the manifests and its post-install
// hooks as one multi-document YAML string.
func assemble(ch *chart.Chart, hooks []*release.Hook, manifests []releaseutil.Manifest) string {
	var b strings.Builder
	doc := func(source, content string) {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", source, strings.TrimSpace(content))
	}
	for _, crd := range ch.CRDObjects() {
		doc(crd.Filename, string(crd.File.Data))
	}
	pre, post := installHooks(hooks)
	for _, h := range pre {
		doc(h.Path, h.Manifest)
	}
	for _, m := range manifests {
		doc(m.Name, m.Content)
	}
	for _, h := range post {
		doc(h.Path, h.Manifest)
	}
	return b.String()
}

// installHooks returns the hooks that run on install, before the manifests and after them,
// each in the order Helm runs them: by weight, then by name. A hook of both events runs
// before.
func installHooks(hooks []*release.Hook) (pre, post []*release.Hook) {
	for _, h := range hooks {
		switch {
		case slices.Contains(h.Events, release.HookPreInstall):
			pre = append(pre, h)
		case slices.Contains(h.Events, release.HookPostInstall):
			post = append(post, h)
		}
	}
	byWeight := func(a, b *release.Hook) int {
		if a.Weight != b.Weight {
			return a.Weight - b.Weight
		}
		return strings.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(pre, byWeight)
	slices.SortStableFunc(post, byWeight)
	return pre, post
}

// checkDependencies fails when Chart.yaml declares a dependency that the archive does not
// hold in charts/, as Helm's install does (`helm dependency build` was not run).
func checkDependencies(ch *chart.Chart) error {
	have := map[string]bool{}
	for _, dep := range ch.Dependencies() {
		have[dep.Name()] = true
	}
	var missing []string
	for _, dep := range ch.Metadata.Dependencies {
		if !have[dep.Name] {
			missing = append(missing, dep.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dependencies declared in Chart.yaml are missing in charts/: %s", strings.Join(missing, ", "))
	}
	return nil
}

// externalSchemaRef returns a reference of the values.schema.json of ch or of one of its
// subcharts to a document other than the schema itself ("" if none). Helm's schema validation
// loads such documents from file: and http(s): URLs: on the server, a chart's schema could
// read the server's files or make it call internal addresses. Only fragments ("#/...") and
// the JSON Schema meta-schemas (json-schema.org) are self-contained.
func externalSchemaRef(ch *chart.Chart) string {
	if len(ch.Schema) > 0 {
		var doc any
		if err := json.Unmarshal(ch.Schema, &doc); err != nil {
			return "" // Helm reports the invalid schema
		}
		if ref := externalRef(doc); ref != "" {
			return path.Join(ch.ChartFullPath(), "values.schema.json") + ": " + ref
		}
	}
	for _, dep := range ch.Dependencies() {
		if ref := externalSchemaRef(dep); ref != "" {
			return ref
		}
	}
	return ""
}

// externalRef walks a JSON document for a keyword that makes a JSON Schema validator load
// another document, and returns the first one found as keyword=value ("" if none).
func externalRef(doc any) string {
	switch v := doc.(type) {
	case map[string]any:
		for key, val := range v {
			s, isString := val.(string)
			switch {
			case key == "$vocabulary":
				return key
			case key == "$schema" && isString && !strings.HasPrefix(s, "http://json-schema.org/") && !strings.HasPrefix(s, "https://json-schema.org/"):
				return key + "=" + s
			case (key == "$ref" || key == "$dynamicRef" || key == "$recursiveRef") && isString && !strings.HasPrefix(s, "#"):
				return key + "=" + s
			}
			if ref := externalRef(val); ref != "" {
				return ref
			}
		}
	case []any:
		for _, val := range v {
			if ref := externalRef(val); ref != "" {
				return ref
			}
		}
	}
	return ""
}
