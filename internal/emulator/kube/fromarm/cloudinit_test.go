package fromarm

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Hand-written cloud-configs in the shapes kubeadm accepts besides those strata writes (which
// TestIaaSCluster reads from the planner): string commands, absent taints, repeated
// node-labels, and what is not a kubeadm machine.
func TestParseCustomData(t *testing.T) {
	const ep = "demo-0a1b2c3d.westeurope.cloudapp.azure.com:6443"
	tests := []struct {
		name   string
		config string
		want   machineConfig
		ok     bool
	}{
		{"v1beta3 init, string command, default taint", `#cloud-config
write_files:
- path: /etc/kubernetes/pki/ca.crt
  content: CERT
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta3
    kind: InitConfiguration
    nodeRegistration:
      kubeletExtraArgs:
        node-labels: role=cp,zone-pinned=true
    ---
    apiVersion: kubeadm.k8s.io/v1beta3
    kind: ClusterConfiguration
    clusterName: demo
    kubernetesVersion: v1.30.4
    controlPlaneEndpoint: ` + ep + `
    networking:
      serviceSubnet: 10.96.0.0/12
runcmd:
- kubeadm init --config /run/kubeadm/kubeadm.yaml --upload-certs
`, machineConfig{endpoint: ep, init: true, controlPlane: true, clusterName: "demo", version: "v1.30.4",
			serviceCIDR: "10.96.0.0/12", caCertPEM: []byte("CERT"),
			labels: map[string]string{"role": "cp", "zone-pinned": "true"}, taints: []corev1.Taint{controlPlaneTaint}}, true},
		{"v1beta4 control-plane join, repeated node-labels, no taints", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
    controlPlane: {}
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
    nodeRegistration:
      taints: []
      kubeletExtraArgs:
      - name: node-labels
        value: a=1
      - name: v
        value: "2"
      - name: node-labels
        value: b=2,c
runcmd:
- [kubeadm, join, --config, /run/kubeadm/kubeadm.yaml]
`, machineConfig{endpoint: ep, controlPlane: true, labels: map[string]string{"a": "1", "b": "2", "c": ""}}, true},
		{"worker join, absent taints", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
runcmd:
- [kubeadm, join, --config, /run/kubeadm/kubeadm.yaml]
`, machineConfig{endpoint: ep, labels: map[string]string{}}, true},
		{"init applying manifests after kubeadm init", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: InitConfiguration
    ---
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    controlPlaneEndpoint: ` + ep + `
- path: /etc/kubernetes/strata/agent.yaml
  content: AGENT
- path: /etc/kubernetes/b.yaml
  content: B
- path: /etc/kubernetes/before.yaml
  content: BEFORE
runcmd:
- [kubectl, apply, -f, /etc/kubernetes/before.yaml]
- [kubeadm, init, --config, /run/kubeadm/kubeadm.yaml]
- [kubectl, --kubeconfig, /etc/kubernetes/admin.conf, apply, --server-side, -f, /etc/kubernetes/strata/agent.yaml]
- /usr/bin/kubectl apply --filename=/etc/kubernetes/b.yaml -f /etc/kubernetes/missing.yaml
- [kubectl, delete, -f, /etc/kubernetes/b.yaml]
- [sh, -c, "kubectl apply -f /etc/kubernetes/before.yaml"]
- [rm, -f, /etc/kubernetes/strata/agent.yaml]
`, machineConfig{endpoint: ep, init: true, controlPlane: true, labels: map[string]string{}, taints: []corev1.Taint{controlPlaneTaint},
			manifests: [][]byte{[]byte("AGENT"), []byte("B")}}, true},
		{"join does not apply", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
- path: /etc/kubernetes/strata/agent.yaml
  content: AGENT
runcmd:
- [kubeadm, join, --config, /run/kubeadm/kubeadm.yaml]
- [kubectl, apply, -f, /etc/kubernetes/strata/agent.yaml]
`, machineConfig{endpoint: ep, labels: map[string]string{}}, true},
		{"init with its kubelet's version", `#cloud-config
write_files:
- path: /etc/strata/kubernetes-version
  content: |
    v1.31.2
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: InitConfiguration
    ---
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    kubernetesVersion: v1.31.2
    controlPlaneEndpoint: ` + ep + `
runcmd:
- [kubeadm, init, --config, /run/kubeadm/kubeadm.yaml]
`, machineConfig{endpoint: ep, init: true, controlPlane: true, version: "v1.31.2", kubeletVersion: "1.31.2",
			labels: map[string]string{}, taints: []corev1.Taint{controlPlaneTaint}}, true},
		{"control-plane join with its kubelet's version", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
    controlPlane: {}
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
- path: /etc/strata/kubernetes-version
  content: "1.32.0"
runcmd:
- [kubeadm, join, --config, /run/kubeadm/kubeadm.yaml]
`, machineConfig{endpoint: ep, controlPlane: true, kubeletVersion: "1.32.0", labels: map[string]string{},
			taints: []corev1.Taint{controlPlaneTaint}}, true},
		{"worker join with its kubelet's version", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
- path: /etc/strata/kubernetes-version
  content: " v1.30.14\n"
runcmd:
- [kubeadm, join, --config, /run/kubeadm/kubeadm.yaml]
`, machineConfig{endpoint: ep, kubeletVersion: "1.30.14", labels: map[string]string{}}, true},
		{"no kubeadm command", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
runcmd:
- [echo, hello]
`, machineConfig{}, false},
		{"init without ClusterConfiguration", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: InitConfiguration
runcmd:
- [kubeadm, init]
`, machineConfig{}, false},
		{"join without endpoint", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: JoinConfiguration
runcmd:
- [kubeadm, join]
`, machineConfig{}, false},
		{"other API", `#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    apiVersion: example.com/v1
    kind: JoinConfiguration
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + ep + `
runcmd:
- [kubeadm, join]
`, machineConfig{}, false},
		{"no kubeadm configuration", "#cloud-config\nruncmd:\n- [kubeadm, join]\n", machineConfig{}, false},
		{"invalid YAML", "#cloud-config\nwrite_files: [\n", machineConfig{}, false},
		{"shell script", "#!/bin/sh\nkubeadm join\n", machineConfig{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseCustomData(customData(tt.config))
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v\nwant %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := parseCustomData("not base64!"); ok {
		t.Error("customData that is not base64 was read")
	}
}
