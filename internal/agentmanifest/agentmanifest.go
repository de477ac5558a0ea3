// Package agentmanifest writes the Kubernetes manifest that installs strata's agent in a
// cluster: its namespace, service account and RBAC, the Secret with the server's address,
// the CA of its endpoint and the single-use registration token, and the agent's Deployment.
// It does no I/O.
package agentmanifest

import (
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/proxyenv"
)

// Names of what the manifest makes.
const (
	Namespace      = "strata-system"
	Name           = "strata-agent"
	ConfigSecret   = "strata-agent"
	AppLabel       = "app.kubernetes.io/name"
	ManagedByLabel = "app.kubernetes.io/managed-by"
)

// DefaultImage is the agent's image without a tag; the tag is strata's version.
const DefaultImage = "ghcr.io/strata-dev/strata"

// Options are what a manifest carries. Token is a secret: the manifest is one.
type Options struct {
	// Image is the agent's image (strata's own, run as `strata agent`).
	Image string
	// Server is the address agents dial (host:port), CAPEM the CA of its certificate.
	Server string
	CAPEM  []byte
	// Token is the cluster's registration token.
	Token string
	// Proxy are the proxy variables of the agent's own connections (its cluster's gateway),
	// none for a direct connection. They go into the Secret (a proxy URL may hold a password)
	// and from there into the agent's environment.
	Proxy []proxyenv.EnvVar
	// ProxyCAPEM is the CA of a TLS-inspecting proxy on the agent's way to the server (the
	// gateway's spec.proxy.caCertificate), kept in the Secret under ProxyCAKey.
	ProxyCAPEM []byte
}

// ProxyCAKey is the config Secret's key of the proxy's CA.
const ProxyCAKey = "proxy-ca.crt"

// Render returns the manifest as multi-document YAML.
func Render(o Options) ([]byte, error) {
	if o.Image == "" || o.Server == "" || len(o.CAPEM) == 0 || o.Token == "" {
		return nil, errors.New("agentmanifest: image, server, CA and token are required")
	}
	labels := map[string]string{AppLabel: Name, ManagedByLabel: "strata"}
	meta := func(name, ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: meta(Namespace, "")},
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(Name, Namespace)},
		clusterRole(meta(Name, "")),
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta(Name, ""),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: Name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: Namespace}}},
		configSecret(meta(ConfigSecret, Namespace), o),
		deployment(meta(Name, Namespace), o.Image, o.Proxy),
	}
	var b strings.Builder
	for _, obj := range objs {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("agentmanifest: %w", err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return []byte(b.String()), nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// clusterRole is the agent's: it applies whatever the profiles' layers hold (any kind, in any
// namespace) and keeps its webhook configuration, so it may do anything in the cluster; that
// power stays in the cluster, never reaching the server.
func clusterRole(meta metav1.ObjectMeta) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta,
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{NonResourceURLs: []string{"*"}, Verbs: []string{"get"}},
		}}
}

// tolerations let the agent run on any node that is not going away: a cluster whose every
// node is tainted NoSchedule (dedicated workers, control-plane nodes) still needs its agent.
// NoExecute taints (a node not ready or unreachable) keep their default handling.
var tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}

// configSecret holds what the agent needs to register: the server's address, its CA, the
// token, the proxy variables (each under its own name) and the proxy's CA.
func configSecret(meta metav1.ObjectMeta, o Options) *corev1.Secret {
	data := map[string]string{"server": o.Server, "ca.crt": string(o.CAPEM), "token": o.Token}
	for _, v := range o.Proxy {
		data[v.Name] = v.Value
	}
	if len(o.ProxyCAPEM) > 0 {
		data[ProxyCAKey] = string(o.ProxyCAPEM)
	}
	return &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: meta, Type: corev1.SecretTypeOpaque, StringData: data}
}

// deployment is the agent's Deployment: one replica, run as `strata agent`, with the proxy
// variables from the config Secret.
func deployment(meta metav1.ObjectMeta, image string, proxy []proxyenv.EnvVar) *appsv1.Deployment {
	one := int32(1)
	sel := map[string]string{AppLabel: Name}
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	env := []corev1.EnvVar{field("POD_IP", "status.podIP"), field("POD_NAMESPACE", "metadata.namespace")}
	for _, v := range proxy {
		env = append(env, corev1.EnvVar{Name: v.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigSecret}, Key: v.Name}}})
	}
	return &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: sel},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels},
				Spec: corev1.PodSpec{ServiceAccountName: Name, Tolerations: tolerations, Containers: []corev1.Container{{
					Name: "agent", Image: image, Args: []string{"agent"},
					Env:   env,
					Ports: []corev1.ContainerPort{{Name: "webhook", ContainerPort: 9443}},
				}}}}}}
}
