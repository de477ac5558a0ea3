package plan

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"sigs.k8s.io/yaml"
)

// Paths on the nodes.
const (
	kubeadmConfigPath = "/run/kubeadm/kubeadm.yaml"
	caCertPath        = "/etc/kubernetes/pki/ca.crt"
	caKeyPath         = "/etc/kubernetes/pki/ca.key"
)

// kubeadm configuration API versions, and how long a joining machine waits for the API server.
const (
	kubeadmV1beta3   = "kubeadm.k8s.io/v1beta3"
	kubeadmV1beta4   = "kubeadm.k8s.io/v1beta4"
	discoveryTimeout = "30m"
)

// controlPlaneTaint is kubeadm's default taint of control-plane nodes, kept when a pool adds
// its own taints.
var controlPlaneTaint = v1alpha1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}

// machineRole is what a VM does in kubeadm's bootstrap.
type machineRole int

const (
	roleInit         machineRole = iota // the first control-plane machine: kubeadm init
	roleControlPlane                    // another control-plane machine: kubeadm join --control-plane
	roleWorker                          // kubeadm join
)

// cloudConfig is the part of cloud-init's #cloud-config that strata writes.
type cloudConfig struct {
	WriteFiles []writeFile `json:"write_files"`
	RunCmd     [][]string  `json:"runcmd"`
}

type writeFile struct {
	Path        string `json:"path"`
	Owner       string `json:"owner"`
	Permissions string `json:"permissions"`
	Content     string `json:"content"`
}

// bootstrap checks the bootstrap secrets and reads, once for every machine, the kubeadm API
// version of the Kubernetes version and the hash of the cluster CA joiners pin.
func (b *builder) bootstrap() error {
	s := b.in.Secrets
	if err := s.Validate(); err != nil {
		return err
	}
	v, err := kubeadmAPIVersion(b.layers.kubernetesVersion)
	if err != nil {
		return err
	}
	hash, err := s.CACertHash()
	if err != nil {
		return err
	}
	b.kubeadmAPI, b.caHash = v, hash
	return nil
}

// cloudInit returns the #cloud-config of a VM of the pool: the kubeadm configuration and the
// kubeadm command. Only the first control-plane machine gets the CA key; the others get the
// control-plane certificates through kubeadm's upload-certs.
func (b *builder) cloudInit(pool *v1alpha1.MachinePool, role machineRole) (string, error) {
	s := b.in.Secrets
	apiVersion := b.kubeadmAPI
	reg := nodeRegistration(apiVersion, pool)
	var docs []map[string]any
	var files []writeFile
	var cmd []string
	switch role {
	case roleInit:
		files = append(files,
			writeFile{Path: caCertPath, Owner: "root:root", Permissions: "0644", Content: string(s.CACertPEM)},
			writeFile{Path: caKeyPath, Owner: "root:root", Permissions: "0600", Content: string(s.CAKeyPEM)})
		docs = append(docs, map[string]any{
			"apiVersion": apiVersion,
			"kind":       "InitConfiguration",
			"bootstrapTokens": []map[string]any{{
				"token":  s.Token,
				"ttl":    "0s",
				"groups": []string{"system:bootstrappers:kubeadm:default-node-token"},
				"usages": []string{"signing", "authentication"},
			}},
			"certificateKey":   s.CertificateKey,
			"nodeRegistration": reg,
		}, map[string]any{
			"apiVersion":           apiVersion,
			"kind":                 "ClusterConfiguration",
			"clusterName":          b.name(),
			"kubernetesVersion":    b.layers.kubernetesVersion,
			"controlPlaneEndpoint": b.endpoint(),
			"apiServer":            map[string]any{"certSANs": []string{b.apiServerNames().fqdn}},
			"networking": map[string]any{
				"podSubnet":     b.layers.podCIDR,
				"serviceSubnet": b.layers.serviceCIDR,
			},
		})
		cmd = []string{"kubeadm", "init", "--config", kubeadmConfigPath, "--upload-certs"}
	default:
		join := map[string]any{
			"apiVersion": apiVersion,
			"kind":       "JoinConfiguration",
			"discovery": map[string]any{
				"bootstrapToken": map[string]any{
					"apiServerEndpoint": b.endpoint(),
					"token":             s.Token,
					"caCertHashes":      []string{b.caHash},
				},
			},
			"nodeRegistration": reg,
		}
		// Machines may boot before the first control-plane machine has finished kubeadm init.
		if apiVersion == kubeadmV1beta3 {
			join["discovery"].(map[string]any)["timeout"] = discoveryTimeout
		} else {
			join["timeouts"] = map[string]any{"discovery": discoveryTimeout}
		}
		if role == roleControlPlane {
			join["controlPlane"] = map[string]any{"certificateKey": s.CertificateKey}
		}
		docs = append(docs, join)
		cmd = []string{"kubeadm", "join", "--config", kubeadmConfigPath}
	}

	var config strings.Builder
	for i, d := range docs {
		out, err := yaml.Marshal(d)
		if err != nil {
			return "", fmt.Errorf("encoding the kubeadm configuration: %w", err)
		}
		if i > 0 {
			config.WriteString("---\n")
		}
		config.Write(out)
	}
	files = append(files, writeFile{Path: kubeadmConfigPath, Owner: "root:root", Permissions: "0600", Content: config.String()})
	out, err := yaml.Marshal(cloudConfig{WriteFiles: files, RunCmd: [][]string{cmd}})
	if err != nil {
		return "", fmt.Errorf("encoding the cloud-config: %w", err)
	}
	return "#cloud-config\n" + string(out), nil
}

// nodeRegistration is kubeadm's nodeRegistration of a pool's machines: the pool's labels
// (through the kubelet's --node-labels) and taints, with the control-plane taint on
// control-plane machines.
func nodeRegistration(apiVersion string, pool *v1alpha1.MachinePool) map[string]any {
	taints := []map[string]string{}
	all := pool.Taints
	if pool.ControlPlane {
		all = append([]v1alpha1.Taint{controlPlaneTaint}, pool.Taints...)
	}
	for _, t := range all {
		m := map[string]string{"key": t.Key, "effect": t.Effect}
		if t.Value != "" {
			m["value"] = t.Value
		}
		taints = append(taints, m)
	}
	reg := map[string]any{"taints": taints}
	if len(pool.Labels) > 0 {
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(pool.Labels)) {
			labels = append(labels, k+"="+pool.Labels[k])
		}
		value := strings.Join(labels, ",")
		if apiVersion == kubeadmV1beta3 {
			reg["kubeletExtraArgs"] = map[string]string{"node-labels": value}
		} else {
			reg["kubeletExtraArgs"] = []map[string]string{{"name": "node-labels", "value": value}}
		}
	}
	return reg
}

// kubeadmAPIVersion is the kubeadm configuration API of a Kubernetes version: v1beta4 from
// 1.31 on, v1beta3 before.
func kubeadmAPIVersion(version string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(version, "v"), ".")
	if len(parts) < 2 || parts[0] != "1" {
		return "", fmt.Errorf("kubernetes version %q is not of the form 1.minor.patch", version)
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return "", fmt.Errorf("kubernetes version %q is not of the form 1.minor.patch", version)
	}
	if minor >= 31 {
		return kubeadmV1beta4, nil
	}
	return kubeadmV1beta3, nil
}
