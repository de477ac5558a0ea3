package plan

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
	"sigs.k8s.io/yaml"
)

// Paths on the nodes.
const (
	kubeadmConfigPath = "/run/kubeadm/kubeadm.yaml"
	caCertPath        = "/etc/kubernetes/pki/ca.crt"
	caKeyPath         = "/etc/kubernetes/pki/ca.key"
	// The proxy settings (see nodeProxy).
	containerdProxyPath = "/etc/systemd/system/containerd.service.d/http-proxy.conf"
	kubeletProxyPath    = "/etc/systemd/system/kubelet.service.d/http-proxy.conf"
	environmentPath     = "/etc/environment"
	proxyCAPath         = "/usr/local/share/ca-certificates/strata-proxy-ca.crt"
	// The agent's manifest, applied with kubeadm's admin kubeconfig (see agentInstall).
	agentManifestPath = "/etc/kubernetes/strata/agent.yaml"
	adminConfPath     = "/etc/kubernetes/admin.conf"
	// KubernetesVersionPath holds, on every machine, the Kubernetes version (without "v") its
	// kubelet and kubeadm are meant to be: a machine of a rolling upgrade runs the new one
	// while the cluster's configuration still names the old.
	KubernetesVersionPath = "/etc/strata/kubernetes-version"
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
	// Append adds Content at the end of an existing file rather than replacing it.
	Append bool `json:"append,omitempty"`
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

// cloudInit returns the #cloud-config of a VM of the pool: the proxy settings the cluster
// inherits from its gateway (if any), the kubeadm configuration and the kubeadm command, and
// on the first control-plane machine the agent's installation after kubeadm init (when the
// input has the agent's manifest). Only the first control-plane machine gets the CA key; the
// others get the control-plane certificates through kubeadm's upload-certs. The result is a
// secret (the CA key, the bootstrap token, a proxy password, the agent's registration token):
// it goes only into the VM's custom data.
func (b *builder) cloudInit(pool *v1alpha1.MachinePool, role machineRole) (string, error) {
	var docs []map[string]any
	var files []writeFile
	var cmd []string
	if role == roleInit {
		docs, files, cmd = b.initConfig(pool)
	} else {
		docs, cmd = b.joinConfig(pool, role)
	}
	config, err := encodeDocs(docs)
	if err != nil {
		return "", err
	}
	files = append(files, writeFile{Path: kubeadmConfigPath, Owner: "root:root", Permissions: "0600", Content: config},
		writeFile{Path: KubernetesVersionPath, Owner: "root:root", Permissions: "0644",
			Content: strings.TrimPrefix(b.layers.kubernetesVersion, "v") + "\n"})
	cmds, err := b.withLocalAPIServer(role, [][]string{cmd})
	if err != nil {
		return "", err
	}
	if role == roleInit {
		agentFiles, agentCmds := b.agentInstall()
		files, cmds = append(files, agentFiles...), append(cmds, agentCmds...)
	}
	proxyFiles, proxyCmds, err := b.nodeProxy()
	if err != nil {
		return "", err
	}
	out, err := yaml.Marshal(cloudConfig{
		WriteFiles: append(proxyFiles, files...),
		RunCmd:     append(proxyCmds, cmds...),
	})
	if err != nil {
		return "", fmt.Errorf("encoding the cloud-config: %w", err)
	}
	return "#cloud-config\n" + string(out), nil
}

// initConfig is what the first control-plane machine needs: the cluster CA, kubeadm's
// InitConfiguration and ClusterConfiguration, and kubeadm init.
func (b *builder) initConfig(pool *v1alpha1.MachinePool) ([]map[string]any, []writeFile, []string) {
	s := b.in.Secrets
	apiVersion := b.kubeadmAPI
	files := []writeFile{
		{Path: caCertPath, Owner: "root:root", Permissions: "0644", Content: string(s.CACertPEM)},
		{Path: caKeyPath, Owner: "root:root", Permissions: "0600", Content: string(s.CAKeyPEM)},
	}
	docs := []map[string]any{{
		"apiVersion": apiVersion,
		"kind":       "InitConfiguration",
		"bootstrapTokens": []map[string]any{{
			"token":  s.Token,
			"ttl":    "0s",
			"groups": []string{"system:bootstrappers:kubeadm:default-node-token"},
			"usages": []string{"signing", "authentication"},
		}},
		"certificateKey":   s.CertificateKey,
		"nodeRegistration": nodeRegistration(apiVersion, pool),
	}, {
		"apiVersion":           apiVersion,
		"kind":                 "ClusterConfiguration",
		"clusterName":          b.name(),
		"kubernetesVersion":    b.layers.kubernetesVersion,
		"controlPlaneEndpoint": b.endpoint(),
		"apiServer":            map[string]any{"certSANs": b.certSANs()},
		"networking": map[string]any{
			"podSubnet":     b.layers.podCIDR,
			"serviceSubnet": b.layers.serviceCIDR,
		},
	}}
	return docs, files, []string{"kubeadm", "init", "--config", kubeadmConfigPath, "--upload-certs"}
}

// certSANs are the API server certificate's extra names: the API server's DNS name and, for
// an Internal load balancer, its static IP.
func (b *builder) certSANs() []string {
	sans := []string{b.apiServerNames().fqdn}
	if ip := APIServerAddress(b.c); ip != "" {
		sans = append(sans, ip)
	}
	return sans
}

// withLocalAPIServer returns the kubeadm commands cmds of a machine of the role, with, behind
// an Internal load balancer, the API server's private name pointed at the machine itself on a
// control-plane machine (as CAPZ's private clusters do): Azure does not route a flow from a
// backend of an internal load balancer through its frontend back to that backend, so kubeadm
// init (before it) and the kubelet of a control-plane machine that joined (after kubeadm join)
// reach their own API server directly. Workers resolve the name through the private zone.
func (b *builder) withLocalAPIServer(role machineRole, cmds [][]string) ([][]string, error) {
	if b.internalLB() == nil || role == roleWorker {
		return cmds, nil
	}
	name := APIServerFQDN(b.c)
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return nil, fmt.Errorf("the private DNS name %q is not a lowercase DNS name", name)
	}
	hosts := []string{"sh", "-c", "echo '127.0.0.1 " + name + "' >> /etc/hosts"}
	if role == roleInit {
		return append([][]string{hosts}, cmds...), nil
	}
	return append(cmds, hosts), nil
}

// agentInstall returns the file and the commands, run after kubeadm init on the first
// control-plane machine, that install strata's agent: its manifest in a root-only file,
// server-side applied with kubeadm's admin kubeconfig (field manager strata, as the
// controller applies it through the API), then removed, since it holds the registration
// token. Nothing without the input's AgentManifest.
func (b *builder) agentInstall() ([]writeFile, [][]string) {
	if len(b.in.AgentManifest) == 0 {
		return nil, nil
	}
	file := writeFile{Path: agentManifestPath, Owner: "root:root", Permissions: "0600", Content: string(b.in.AgentManifest)}
	return []writeFile{file}, [][]string{
		{"kubectl", "--kubeconfig", adminConfPath, "apply", "--server-side", "--field-manager=strata", "--force-conflicts", "-f", agentManifestPath},
		{"rm", "-f", agentManifestPath},
	}
}

// joinConfig is what another machine needs: kubeadm's JoinConfiguration (with the
// certificate key on a control-plane machine) and kubeadm join.
func (b *builder) joinConfig(pool *v1alpha1.MachinePool, role machineRole) ([]map[string]any, []string) {
	s := b.in.Secrets
	apiVersion := b.kubeadmAPI
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
		"nodeRegistration": nodeRegistration(apiVersion, pool),
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
	return []map[string]any{join}, []string{"kubeadm", "join", "--config", kubeadmConfigPath}
}

// encodeDocs is kubeadm's configuration file: the documents in YAML, separated by "---".
func encodeDocs(docs []map[string]any) (string, error) {
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
	return config.String(), nil
}

// nodeProxy returns the files and commands that make a node use the cluster's proxy, before
// kubeadm runs: systemd drop-ins giving containerd and the kubelet HTTP_PROXY, HTTPS_PROXY and
// NO_PROXY; the same variables (and their lower-case forms) appended to /etc/environment for
// everything else; the proxy's CA among the trusted ones; then a daemon-reload and a restart
// of containerd, so that kubeadm's image pulls go through the proxy. Nothing without a proxy.
// NO_PROXY is proxyenv.NoProxy of the cluster's network (ProxyNetwork). The files carry the
// proxy URLs, password included: the drop-ins are readable by root only.
func (b *builder) nodeProxy() ([]writeFile, [][]string, error) {
	px := b.in.Proxy
	if px == nil || !px.Enabled() {
		return nil, nil, nil
	}
	network, err := ProxyNetwork(b.c, b.in.Profiles)
	if err != nil {
		return nil, nil, fmt.Errorf("the proxy's NO_PROXY: %w", err)
	}
	env := proxyenv.Env(*px, network)
	for _, v := range env {
		// Never repeat the value: it may hold the proxy's password.
		if strings.ContainsFunc(v.Value, func(r rune) bool { return r == '"' || r == '\\' || unicode.IsControl(r) }) {
			return nil, nil, fmt.Errorf("the proxy's %s holds a quote, a backslash or a control character, which the node's files cannot carry", v.Name)
		}
	}
	dropIn := systemdProxyDropIn(env)
	files := []writeFile{
		{Path: containerdProxyPath, Owner: "root:root", Permissions: "0600", Content: dropIn},
		{Path: kubeletProxyPath, Owner: "root:root", Permissions: "0600", Content: dropIn},
		{Path: environmentPath, Owner: "root:root", Permissions: "0644", Content: environmentLines(env), Append: true},
	}
	var cmds [][]string
	if ca := strings.TrimSpace(px.CACertificate); ca != "" {
		files = append(files, writeFile{Path: proxyCAPath, Owner: "root:root", Permissions: "0644", Content: ca + "\n"})
		cmds = append(cmds, []string{"update-ca-certificates"})
	}
	cmds = append(cmds, []string{"systemctl", "daemon-reload"}, []string{"systemctl", "restart", "containerd"})
	return files, cmds, nil
}

// systemdProxyDropIn is a systemd drop-in setting the upper-case proxy variables of env, each
// value quoted as systemd reads it ("%" is a specifier, "\" an escape).
func systemdProxyDropIn(env []proxyenv.EnvVar) string {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%")
	var sb strings.Builder
	sb.WriteString("[Service]\n")
	for _, v := range env {
		if v.Name == strings.ToUpper(v.Name) {
			fmt.Fprintf(&sb, "Environment=\"%s=%s\"\n", v.Name, quote.Replace(v.Value))
		}
	}
	return sb.String()
}

// environmentLines are the lines appended to /etc/environment (read by pam_env): every
// variable of env, quoted, after a line break in case the file does not end with one.
func environmentLines(env []proxyenv.EnvVar) string {
	var sb strings.Builder
	sb.WriteString("\n# The proxy of the cluster's private cloud gateway, set by strata.\n")
	for _, v := range env {
		fmt.Fprintf(&sb, "%s=\"%s\"\n", v.Name, v.Value)
	}
	return sb.String()
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
