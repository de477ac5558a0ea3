package fromarm

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Paths of strata's cloud-init (internal/plan/cloudinit.go).
const (
	kubeadmConfigPath = "/run/kubeadm/kubeadm.yaml"
	caCertPath        = "/etc/kubernetes/pki/ca.crt"
	caKeyPath         = "/etc/kubernetes/pki/ca.key"
	// kubeletVersionPath holds, on every machine strata bootstraps (init, control-plane and
	// worker join), the Kubernetes version of its kubelet and kubeadm ("1.31.2" or "v1.31.2").
	kubeletVersionPath = "/etc/strata/kubernetes-version"
)

// controlPlaneTaint is kubeadm's default taint of a control-plane node.
var controlPlaneTaint = corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}

// machineConfig is what a VM's cloud-init says of its part in a kubeadm cluster.
type machineConfig struct {
	// endpoint is the API server's host:port.
	endpoint string
	// init: the machine runs kubeadm init; controlPlane: it is a control-plane machine (init,
	// or join with a controlPlane section).
	init, controlPlane bool
	// Of the init machine only: ClusterConfiguration's and the CA files.
	clusterName, version, serviceCIDR string
	// kubeletVersion is the machine's own Kubernetes version (its kubelet's), without a
	// leading "v", from kubeletVersionPath; "" when the machine does not say (older
	// cloud-init): it is then the cluster's.
	kubeletVersion      string
	caCertPEM, caKeyPEM []byte
	// labels and taints are the node's registration: the kubelet's --node-labels and the
	// nodeRegistration taints.
	labels map[string]string
	taints []corev1.Taint
	// manifests are, on the init machine, the written files that runcmd applies with kubectl
	// after kubeadm init (strata's agent), in order. They may hold secrets.
	manifests [][]byte
}

// cloudConfig is the part of a #cloud-config that strata writes.
type cloudConfig struct {
	WriteFiles []struct {
		Path    string `json:"path"`
		Content string `json:"content"`
	} `json:"write_files"`
	// RunCmd entries are command lines (strings) or argument lists.
	RunCmd []any `json:"runcmd"`
}

// kubeadmDoc holds the fields read of kubeadm's InitConfiguration, ClusterConfiguration and
// JoinConfiguration (v1beta3 and v1beta4).
type kubeadmDoc struct {
	APIVersion           string `json:"apiVersion"`
	Kind                 string `json:"kind"`
	ClusterName          string `json:"clusterName"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	Networking           struct {
		ServiceSubnet string `json:"serviceSubnet"`
	} `json:"networking"`
	Discovery struct {
		BootstrapToken struct {
			APIServerEndpoint string `json:"apiServerEndpoint"`
		} `json:"bootstrapToken"`
	} `json:"discovery"`
	ControlPlane     *struct{} `json:"controlPlane"`
	NodeRegistration struct {
		// Taints nil (absent) is kubeadm's default; empty is no taint.
		Taints           []corev1.Taint `json:"taints"`
		KubeletExtraArgs extraArgs      `json:"kubeletExtraArgs"`
	} `json:"nodeRegistration"`
}

// extraArgs are kubeadm's extra arguments of a component: a map in v1beta3, a list of
// {name, value} in v1beta4 (where a name may repeat).
type extraArgs []extraArg

type extraArg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// UnmarshalJSON reads either form.
func (a *extraArgs) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err == nil {
		*a = nil
		for _, k := range slices.Sorted(maps.Keys(m)) {
			*a = append(*a, extraArg{k, m[k]})
		}
		return nil
	}
	var l []extraArg
	if err := json.Unmarshal(data, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// parseCustomData reads a VM's customData (base64). ok is false unless it is a #cloud-config
// that writes a kubeadm configuration and runs kubeadm init or join with it.
func parseCustomData(customData string) (machineConfig, bool) {
	data, err := base64.StdEncoding.DecodeString(customData)
	if err != nil || !strings.HasPrefix(string(data), "#cloud-config") {
		return machineConfig{}, false
	}
	var cc cloudConfig
	if err := yaml.Unmarshal(data, &cc); err != nil {
		return machineConfig{}, false
	}
	files := map[string]string{}
	for _, f := range cc.WriteFiles {
		files[f.Path] = f.Content
	}
	config, ok := files[kubeadmConfigPath]
	if !ok {
		return machineConfig{}, false
	}
	docs, ok := kubeadmDocs(config)
	if !ok {
		return machineConfig{}, false
	}
	var m machineConfig
	switch kubeadmCommand(cc.RunCmd) {
	case "init":
		m, ok = initConfig(docs)
		m.caCertPEM, m.caKeyPEM = pemBytes(files[caCertPath]), pemBytes(files[caKeyPath])
		m.manifests = appliedAfterInit(cc.RunCmd, files)
	case "join":
		m, ok = joinConfig(docs)
	default:
		return machineConfig{}, false
	}
	if !ok || m.endpoint == "" {
		return machineConfig{}, false
	}
	m.kubeletVersion = trimV(strings.TrimSpace(files[kubeletVersionPath]))
	return m, true
}

// docSeparator separates the documents of a YAML stream.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// kubeadmDocs parses the documents of a kubeadm configuration by kind, ignoring those of
// other APIs. ok is false when a document is not valid YAML.
func kubeadmDocs(config string) (map[string]kubeadmDoc, bool) {
	out := map[string]kubeadmDoc{}
	for _, text := range docSeparator.Split(config, -1) {
		if strings.TrimSpace(text) == "" {
			continue
		}
		var d kubeadmDoc
		if err := yaml.Unmarshal([]byte(text), &d); err != nil {
			return nil, false
		}
		if strings.HasPrefix(d.APIVersion, "kubeadm.k8s.io/") {
			out[d.Kind] = d
		}
	}
	return out, true
}

// kubeadmCommand returns "init" or "join" when runcmd runs kubeadm init or join, else "".
func kubeadmCommand(runcmd []any) string {
	if i := kubeadmIndex(runcmd); i >= 0 {
		return commandArgs(runcmd[i])[1]
	}
	return ""
}

// kubeadmIndex is the index of runcmd's first kubeadm init or join command, or -1.
func kubeadmIndex(runcmd []any) int {
	return slices.IndexFunc(runcmd, func(c any) bool {
		args := commandArgs(c)
		return len(args) >= 2 && args[0] == "kubeadm" && (args[1] == "init" || args[1] == "join")
	})
}

// commandArgs are the arguments of a runcmd entry: a command line (split on white space) or
// an argument list.
func commandArgs(c any) []string {
	var args []string
	switch c := c.(type) {
	case string:
		args = strings.Fields(c)
	case []any:
		for _, a := range c {
			s, _ := a.(string)
			args = append(args, s)
		}
	}
	return args
}

// appliedAfterInit returns the contents of the written files that the kubectl apply
// commands following kubeadm init in runcmd apply (-f, --filename), in order: what strata's
// cloud-init installs once the control plane is up (the agent's manifest). A file that is not
// among files, and every other command, is ignored.
func appliedAfterInit(runcmd []any, files map[string]string) [][]byte {
	i := kubeadmIndex(runcmd)
	if i < 0 {
		return nil
	}
	var out [][]byte
	for _, c := range runcmd[i+1:] {
		args := commandArgs(c)
		if len(args) == 0 || path.Base(args[0]) != "kubectl" || !slices.Contains(args, "apply") {
			continue
		}
		for _, f := range applyFiles(args[1:]) {
			if content, ok := files[f]; ok {
				out = append(out, []byte(content))
			}
		}
	}
	return out
}

// applyFiles are the files a kubectl command's arguments name with -f or --filename.
func applyFiles(args []string) []string {
	var out []string
	for i, a := range args {
		switch {
		case (a == "-f" || a == "--filename") && i+1 < len(args):
			out = append(out, args[i+1])
		case strings.HasPrefix(a, "-f="), strings.HasPrefix(a, "--filename="):
			_, f, _ := strings.Cut(a, "=")
			out = append(out, f)
		}
	}
	return out
}

// initConfig reads the machine that runs kubeadm init: InitConfiguration and
// ClusterConfiguration.
func initConfig(docs map[string]kubeadmDoc) (machineConfig, bool) {
	ini, ok1 := docs["InitConfiguration"]
	cc, ok2 := docs["ClusterConfiguration"]
	if !ok1 || !ok2 {
		return machineConfig{}, false
	}
	m := machineConfig{
		endpoint:     cc.ControlPlaneEndpoint,
		init:         true,
		controlPlane: true,
		clusterName:  cc.ClusterName,
		version:      cc.KubernetesVersion,
		serviceCIDR:  cc.Networking.ServiceSubnet,
	}
	m.labels, m.taints = registration(ini, true)
	return m, true
}

// joinConfig reads a machine that runs kubeadm join: JoinConfiguration.
func joinConfig(docs map[string]kubeadmDoc) (machineConfig, bool) {
	j, ok := docs["JoinConfiguration"]
	if !ok {
		return machineConfig{}, false
	}
	m := machineConfig{
		endpoint:     j.Discovery.BootstrapToken.APIServerEndpoint,
		controlPlane: j.ControlPlane != nil,
	}
	m.labels, m.taints = registration(j, m.controlPlane)
	return m, true
}

// registration returns the node labels and taints of a node's registration. Absent taints
// are kubeadm's default: the control-plane taint on control-plane machines.
func registration(d kubeadmDoc, controlPlane bool) (map[string]string, []corev1.Taint) {
	labels := map[string]string{}
	for _, a := range d.NodeRegistration.KubeletExtraArgs {
		if a.Name == "node-labels" {
			maps.Copy(labels, parseNodeLabels(a.Value))
		}
	}
	taints := d.NodeRegistration.Taints
	if taints == nil && controlPlane {
		taints = []corev1.Taint{controlPlaneTaint}
	}
	if len(taints) == 0 {
		taints = nil
	}
	return labels, taints
}
