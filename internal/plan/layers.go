package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// layers is what the graph needs of the cluster's profiles: the OS and kubernetes layers, with
// the cluster's overrides merged over their values.
type layers struct {
	// OS layer: the base VHD, by URL or by blob name under Env.ImageBaseURL, and the image's
	// Hyper-V generation (V2 unless image.hyperVGeneration says V1).
	vhdURL, vhd      string
	hyperVGeneration string
	// osName and osVersion name the OS layer (for MachineTemplate).
	osName, osVersion string
	// Kubernetes layer.
	kubernetesVersion string // "v1.30.4"
	podCIDR           string
	serviceCIDR       string
}

// readLayers finds the first OS layer and the first kubernetes layer of the pinned profiles and
// reads their merged values.
func readLayers(c *v1alpha1.Cluster, profiles []*v1alpha1.ClusterProfile) (layers, error) {
	var out layers
	os, err := findLayer(c, profiles, v1alpha1.LayerOS)
	if err != nil {
		return out, err
	}
	if os == nil {
		return out, errors.New("no pinned profile has an os layer")
	}
	out.osName, out.osVersion = os.name, os.version
	out.vhdURL = stringAt(os.values, "image", "vhdURL")
	out.vhd = stringAt(os.values, "image", "vhd")
	out.hyperVGeneration = "V2"
	if g := stringAt(os.values, "image", "hyperVGeneration"); strings.EqualFold(g, "V1") {
		out.hyperVGeneration = "V1"
	}
	if out.vhdURL == "" && out.vhd == "" {
		return out, fmt.Errorf("profile %s, layer %s: the values set neither image.vhd nor image.vhdURL", os.profile, os.name)
	}
	k8s, err := findLayer(c, profiles, v1alpha1.LayerKubernetes)
	if err != nil {
		return out, err
	}
	if k8s == nil {
		return out, errors.New("no pinned profile has a kubernetes layer")
	}
	out.kubernetesVersion = "v" + strings.TrimPrefix(k8s.version, "v")
	out.podCIDR = orDefault(stringAt(k8s.values, "pack", "podCIDR"), v1alpha1.DefaultPodCIDR)
	out.serviceCIDR = orDefault(stringAt(k8s.values, "pack", "serviceClusterIpRange"), v1alpha1.DefaultServiceCIDR)
	return out, nil
}

// foundLayer is a layer of a pinned profile with the cluster's override merged over its
// values.
type foundLayer struct {
	profile, name, version string
	values                 map[string]any
}

// findLayer returns the first layer of the type in the pinned profiles, or nil when none has
// one.
func findLayer(c *v1alpha1.Cluster, profiles []*v1alpha1.ClusterProfile, layerType string) (*foundLayer, error) {
	for i, prof := range profiles {
		if prof == nil {
			continue
		}
		var overrides map[string]string
		if i < len(c.Spec.Profiles) {
			overrides = c.Spec.Profiles[i].Values
		}
		for _, l := range prof.Spec.Layers {
			if l.Type != layerType {
				continue
			}
			values, err := mergedValues(l, overrides[l.Name])
			if err != nil {
				return nil, fmt.Errorf("profile %s, layer %s: %w", prof.Key(), l.Name, err)
			}
			return &foundLayer{profile: prof.Key(), name: l.Name, version: l.Version, values: values}, nil
		}
	}
	return nil, nil
}

// mergedValues parses a layer's values and merges the cluster's override over them.
func mergedValues(l v1alpha1.Layer, override string) (map[string]any, error) {
	base, err := v1alpha1.ParseValues(l.Values)
	if err != nil {
		return nil, err
	}
	over, err := v1alpha1.ParseValues(override)
	if err != nil {
		return nil, fmt.Errorf("the cluster's override: %w", err)
	}
	return v1alpha1.MergeValues(base, over), nil
}

// stringAt returns the string at a path of nested mappings, or "".
func stringAt(values map[string]any, path ...string) string {
	var v any = values
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
