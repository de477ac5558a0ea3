// Package proxyinject is the strata agent's mutating admission webhook: it injects the
// private cloud gateway's proxy into the pods labelled spectrocloud.com/connection: proxy
// (Palette's label), at their creation.
//
// Patch computes the JSON patch for one pod, Handler serves admission.k8s.io/v1
// AdmissionReviews, and Manager keeps the webhook's CA, serving certificate,
// MutatingWebhookConfiguration and Service. Remove deletes the configuration when the agent
// is uninstalled.
//
// The proxy's CA certificate, when the gateway has one, travels in the pod itself: the patch
// puts the PEM in the pod's annotation strata.dev/proxy-ca and mounts it with a downward API
// volume. That needs no ConfigMap in the pod's namespace (which would have to exist in every
// namespace, including those created a moment before the pod), no write from the webhook and
// no extra permission. A CA certificate is public, so an annotation is a fair place for it.
package proxyinject

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/strata-dev/strata/internal/proxyenv"
)

// The label that asks for the proxy, as Palette spells it.
const (
	ConnectionLabel = "spectrocloud.com/connection"
	ConnectionProxy = "proxy"
)

// What the patch adds for the proxy's CA certificate.
const (
	// CAAnnotation holds the CA certificate's PEM on the pod.
	CAAnnotation = "strata.dev/proxy-ca"
	// CAVolume is the downward API volume that projects CAAnnotation as the file CAFile.
	CAVolume = "strata-proxy-ca"
	// CAFile is the file name inside CAVolume.
	CAFile = "ca.crt"
	// CAMountPath is where each container sees the certificate. Go programs read every file
	// of /etc/ssl/certs; programs using OpenSSL read only its bundle (ca-certificates.crt)
	// and hashed names, so they need SSL_CERT_FILE or update-ca-certificates themselves.
	// Setting SSL_CERT_FILE here would replace the system bundle, so the patch does not.
	CAMountPath = "/etc/ssl/certs/strata-proxy-ca.crt"
)

// maxCABytes bounds the CA certificate: it sits in an annotation, and all of a pod's
// annotations must fit in 256 KiB.
const maxCABytes = 64 << 10

// Injection is what the webhook adds to a labelled pod.
type Injection struct {
	// Env are the proxy variables (proxyenv.Env): secrets.
	Env []proxyenv.EnvVar
	// CACertificate is the proxy's CA certificate in PEM, or empty.
	CACertificate string
}

// JSONPatchOp is one operation of an RFC 6902 JSON patch.
type JSONPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Patch returns the JSON patch that gives pod the injection: each variable of inj.Env is
// added to every init container and container that does not define it already. A variable
// counts as defined when the container has one of the same name in any case (HTTPS_PROXY or
// https_proxy), so a pod's own proxy is never overridden, not even by the other spelling that
// some programs read first. Variables coming from envFrom are not seen. With a CA certificate,
// the patch also sets CAAnnotation, adds CAVolume and mounts it read-only at CAMountPath in
// each container that mounts nothing there. Patch is idempotent: for a pod that already had
// its patch applied it returns no operation. It returns nil when inj has no variable.
func Patch(pod *corev1.Pod, inj Injection) ([]JSONPatchOp, error) {
	if pod == nil {
		return nil, errors.New("proxyinject: no pod")
	}
	if len(inj.Env) == 0 {
		return nil, nil
	}
	if len(inj.CACertificate) > maxCABytes {
		return nil, fmt.Errorf("proxyinject: the CA certificate has %d bytes, more than %d", len(inj.CACertificate), maxCABytes)
	}
	var ops []JSONPatchOp
	withCA := inj.CACertificate != ""
	if withCA {
		ops = append(ops, caPodOps(pod, inj.CACertificate)...)
	}
	for i := range pod.Spec.InitContainers {
		ops = append(ops, containerOps(fmt.Sprintf("/spec/initContainers/%d", i), &pod.Spec.InitContainers[i], inj.Env, withCA)...)
	}
	for i := range pod.Spec.Containers {
		ops = append(ops, containerOps(fmt.Sprintf("/spec/containers/%d", i), &pod.Spec.Containers[i], inj.Env, withCA)...)
	}
	return ops, nil
}

// caPodOps sets the CA annotation (an add on an existing member replaces it) and adds the
// CA volume unless the pod has a volume of that name.
func caPodOps(pod *corev1.Pod, caPEM string) []JSONPatchOp {
	var ops []JSONPatchOp
	switch v, ok := pod.Annotations[CAAnnotation]; {
	case len(pod.Annotations) == 0:
		ops = append(ops, JSONPatchOp{"add", "/metadata/annotations", map[string]string{CAAnnotation: caPEM}})
	case !ok || v != caPEM:
		ops = append(ops, JSONPatchOp{"add", "/metadata/annotations/" + escapePointer(CAAnnotation), caPEM})
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == CAVolume {
			return ops
		}
	}
	return append(ops, addToList("/spec/volumes", len(pod.Spec.Volumes) == 0, caVolume())...)
}

// caVolume projects CAAnnotation as the file CAFile.
func caVolume() corev1.Volume {
	return corev1.Volume{Name: CAVolume, VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{{
			Path:     CAFile,
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['" + CAAnnotation + "']"},
		}},
	}}}
}

// containerOps adds the variables c lacks and, with a CA, its mount.
func containerOps(path string, c *corev1.Container, env []proxyenv.EnvVar, withCA bool) []JSONPatchOp {
	var missing []any
	for _, v := range env {
		if !definesEnv(c, v.Name) {
			missing = append(missing, corev1.EnvVar{Name: v.Name, Value: v.Value})
		}
	}
	ops := addToList(path+"/env", len(c.Env) == 0, missing...)
	if withCA && !mounts(c, CAMountPath) {
		m := corev1.VolumeMount{Name: CAVolume, MountPath: CAMountPath, SubPath: CAFile, ReadOnly: true}
		ops = append(ops, addToList(path+"/volumeMounts", len(c.VolumeMounts) == 0, m)...)
	}
	return ops
}

// addToList adds items to the JSON array at path: as a whole new array when it is absent
// or empty, else one "add …/-" per item.
func addToList(path string, absent bool, items ...any) []JSONPatchOp {
	if len(items) == 0 {
		return nil
	}
	if absent {
		return []JSONPatchOp{{"add", path, items}}
	}
	ops := make([]JSONPatchOp, 0, len(items))
	for _, it := range items {
		ops = append(ops, JSONPatchOp{"add", path + "/-", it})
	}
	return ops
}

// definesEnv reports whether c has a variable named name, in any case.
func definesEnv(c *corev1.Container, name string) bool {
	for _, e := range c.Env {
		if strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}

// mounts reports whether c mounts something at path.
func mounts(c *corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if strings.TrimSuffix(m.MountPath, "/") == path {
			return true
		}
	}
	return false
}

// escapePointer escapes a JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
