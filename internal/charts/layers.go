package charts

import (
	"context"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// ForLayers renders the charts of profile layers (v1alpha1.Chart) with a Renderer: it is the
// agent hub's chart renderer (agentserver.ChartRenderer), which it satisfies by its method set
// alone.
type ForLayers struct {
	*Renderer
}

// Render renders chart, the chart a layer names, as Renderer.Render renders its Ref. The
// chart's Namespace is not read: namespace is where the release goes, and the caller has
// defaulted it already.
func (f ForLayers) Render(ctx context.Context, chart v1alpha1.Chart, release, namespace, values string) (string, error) {
	return f.Renderer.Render(ctx, Ref{Repository: chart.Repository, Name: chart.Name, Version: chart.Version}, release, namespace, values)
}
