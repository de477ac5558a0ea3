package proxyinject

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-dev/strata/internal/proxyenv"
)

var testEnv = []proxyenv.EnvVar{
	{Name: "HTTP_PROXY", Value: "http://proxy:3128"}, {Name: "HTTPS_PROXY", Value: "http://proxy:3128"},
	{Name: "NO_PROXY", Value: "localhost,.svc"}, {Name: "http_proxy", Value: "http://proxy:3128"},
	{Name: "https_proxy", Value: "http://proxy:3128"}, {Name: "no_proxy", Value: "localhost,.svc"},
}

const testCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func container(name string, env ...corev1.EnvVar) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", Env: env}
}

func podWith(init []corev1.Container, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{ConnectionLabel: ConnectionProxy}},
		Spec:       corev1.PodSpec{InitContainers: init, Containers: containers},
	}
}

var withCA = Injection{Env: testEnv, CACertificate: testCA}

// patchTests are TestPatch's cases: each is also patched a second time, which must add nothing.
var patchTests = []struct {
	name  string
	pod   *corev1.Pod
	inj   Injection
	ops   []string // the path of each operation, when checked
	check func(t *testing.T, p *corev1.Pod)
}{
	{
		name: "no env: the list added whole",
		pod:  podWith(nil, container("app")),
		inj:  Injection{Env: testEnv},
		ops:  []string{"/spec/containers/0/env"},
		check: func(t *testing.T, p *corev1.Pod) {
			wantEnv(t, p.Spec.Containers[0], testEnv...)
		},
	},
	{
		name: "env present: each variable appended, the pod's kept first",
		pod:  podWith(nil, container("app", corev1.EnvVar{Name: "FOO", Value: "bar"})),
		inj:  Injection{Env: testEnv},
		ops:  slices.Repeat([]string{"/spec/containers/0/env/-"}, 6),
		check: func(t *testing.T, p *corev1.Pod) {
			if p.Spec.Containers[0].Env[0].Name != "FOO" {
				t.Errorf("first variable %q, want FOO", p.Spec.Containers[0].Env[0].Name)
			}
			wantEnv(t, p.Spec.Containers[0], append([]proxyenv.EnvVar{{Name: "FOO", Value: "bar"}}, testEnv...)...)
		},
	},
	{
		name: "init containers and every container",
		pod:  podWith([]corev1.Container{container("init1"), container("init2", corev1.EnvVar{Name: "A", Value: "1"})}, container("a"), container("b")),
		inj:  Injection{Env: testEnv},
		check: func(t *testing.T, p *corev1.Pod) {
			for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
				var own []proxyenv.EnvVar
				if c.Name == "init2" {
					own = []proxyenv.EnvVar{{Name: "A", Value: "1"}}
				}
				wantEnv(t, c, append(own, testEnv...)...)
			}
		},
	},
	{
		name: "a container's own HTTPS_PROXY kept, https_proxy not added; the other container gets all",
		pod:  podWith(nil, container("own", corev1.EnvVar{Name: "HTTPS_PROXY", Value: "http://mine:8080"}), container("other")),
		inj:  Injection{Env: testEnv},
		check: func(t *testing.T, p *corev1.Pod) {
			own := envMap(p.Spec.Containers[0])
			if own["HTTPS_PROXY"] != "http://mine:8080" || len(own) != 5 {
				t.Errorf("own container's env %v, want its HTTPS_PROXY and 4 others", own)
			}
			if _, ok := own["https_proxy"]; ok {
				t.Errorf("https_proxy injected beside the pod's HTTPS_PROXY")
			}
			wantEnv(t, p.Spec.Containers[1], testEnv...)
		},
	},
	{
		name: "a container's own lower-case https_proxy (from a secret) kept",
		pod: podWith(nil, container("own", corev1.EnvVar{Name: "https_proxy", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}})),
		inj: Injection{Env: testEnv},
		check: func(t *testing.T, p *corev1.Pod) {
			own := envMap(p.Spec.Containers[0])
			if _, ok := own["HTTPS_PROXY"]; ok || len(own) != 5 {
				t.Errorf("env %v: want the pod's https_proxy, no HTTPS_PROXY, 4 others", own)
			}
		},
	},
	{
		name: "CA on a bare pod: annotation, volume, mounts created",
		pod:  podWith([]corev1.Container{container("init")}, container("app")),
		inj:  withCA,
		ops: []string{"/metadata/annotations", "/spec/volumes", "/spec/initContainers/0/env",
			"/spec/initContainers/0/volumeMounts", "/spec/containers/0/env", "/spec/containers/0/volumeMounts"},
		check: func(t *testing.T, p *corev1.Pod) { wantCA(t, p, 2) },
	},
	{
		name: "CA on a pod with annotations, volumes and mounts: appended; a stale annotation replaced",
		pod: func() *corev1.Pod {
			p := podWith(nil, container("app"), container("own-ca"))
			p.Annotations = map[string]string{"a": "b", CAAnnotation: "old"}
			p.Spec.Volumes = []corev1.Volume{{Name: "data"}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
			p.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: CAMountPath}}
			return p
		}(),
		inj: withCA,
		ops: []string{"/metadata/annotations/strata.dev~1proxy-ca", "/spec/volumes/-", "/spec/containers/0/env",
			"/spec/containers/0/volumeMounts/-", "/spec/containers/1/env"},
		check: func(t *testing.T, p *corev1.Pod) {
			wantCA(t, p, 1)
			if p.Annotations["a"] != "b" || p.Spec.Volumes[0].Name != "data" {
				t.Errorf("the pod's own annotation or volume lost")
			}
			if m := p.Spec.Containers[1].VolumeMounts; len(m) != 1 || m[0].Name != "data" {
				t.Errorf("container own-ca mounts %+v, want only its own", m)
			}
		},
	},
	{
		name: "no proxy: no patch, even with a CA",
		pod:  podWith(nil, container("app")),
		inj:  Injection{CACertificate: testCA},
		ops:  []string{},
		check: func(t *testing.T, p *corev1.Pod) {
			if len(p.Spec.Containers[0].Env) != 0 || len(p.Spec.Volumes) != 0 {
				t.Errorf("pod changed: %+v", p.Spec)
			}
		},
	},
}

func TestPatch(t *testing.T) {
	for _, tt := range patchTests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := Patch(tt.pod, tt.inj)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ops != nil {
				var paths []string
				for _, op := range ops {
					paths = append(paths, op.Path)
				}
				if !slices.Equal(paths, tt.ops) && !(len(paths) == 0 && len(tt.ops) == 0) {
					t.Errorf("operations on\n %q\nwant\n %q", paths, tt.ops)
				}
			}
			patched := applyPatch(t, tt.pod, ops)
			tt.check(t, patched)
			again, err := Patch(patched, tt.inj)
			if err != nil || len(again) != 0 {
				t.Errorf("reinvocation: Patch = %+v, %v; want nothing", again, err)
			}
		})
	}
}

func TestPatchErrors(t *testing.T) {
	if _, err := Patch(nil, Injection{Env: testEnv}); err == nil {
		t.Error("nil pod: no error")
	}
	big := Injection{Env: testEnv, CACertificate: strings.Repeat("x", maxCABytes+1)}
	if _, err := Patch(podWith(nil, container("a")), big); err == nil {
		t.Error("oversized CA: no error")
	}
}

// wantCA checks the CA annotation, volume, and mounts in n containers.
func wantCA(t *testing.T, p *corev1.Pod, n int) {
	t.Helper()
	if p.Annotations[CAAnnotation] != testCA {
		t.Errorf("annotation %q = %q", CAAnnotation, p.Annotations[CAAnnotation])
	}
	i := slices.IndexFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == CAVolume })
	if i < 0 || p.Spec.Volumes[i].DownwardAPI == nil ||
		p.Spec.Volumes[i].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.annotations['strata.dev/proxy-ca']" {
		t.Fatalf("no downward API volume %s: %+v", CAVolume, p.Spec.Volumes)
	}
	mounted := 0
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		for _, m := range c.VolumeMounts {
			if m.Name == CAVolume && m.MountPath == CAMountPath && m.SubPath == CAFile && m.ReadOnly {
				mounted++
			}
		}
	}
	if mounted != n {
		t.Errorf("%d containers mount the CA, want %d", mounted, n)
	}
}

func envMap(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// wantEnv checks that c's env is exactly want, in order.
func wantEnv(t *testing.T, c corev1.Container, want ...proxyenv.EnvVar) {
	t.Helper()
	var got []proxyenv.EnvVar
	for _, e := range c.Env {
		got = append(got, proxyenv.EnvVar{Name: e.Name, Value: e.Value})
	}
	if !slices.Equal(got, want) {
		t.Errorf("container %s env\n %v\nwant\n %v", c.Name, got, want)
	}
}

// applyPatch applies a JSON patch of "add" operations to pod, strictly as RFC 6902 does: the
// parent of each target must exist.
func applyPatch(t *testing.T, pod *corev1.Pod, ops []JSONPatchOp) *corev1.Pod {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.Op != "add" {
			t.Fatalf("operation %q, want only add", op.Op)
		}
		v, err := json.Marshal(op.Value)
		if err != nil {
			t.Fatal(err)
		}
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			t.Fatal(err)
		}
		var toks []string
		for _, tok := range strings.Split(op.Path, "/")[1:] {
			toks = append(toks, strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
		}
		if doc, err = addAt(doc, toks, val); err != nil {
			t.Fatalf("add %s: %v", op.Path, err)
		}
	}
	raw, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out corev1.Pod
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func addAt(doc any, toks []string, val any) (any, error) {
	if len(toks) == 0 {
		return val, nil
	}
	switch d := doc.(type) {
	case map[string]any:
		if len(toks) == 1 {
			d[toks[0]] = val
			return d, nil
		}
		child, ok := d[toks[0]]
		if !ok {
			return nil, fmt.Errorf("no member %q", toks[0])
		}
		c, err := addAt(child, toks[1:], val)
		d[toks[0]] = c
		return d, err
	case []any:
		if len(toks) == 1 && toks[0] == "-" {
			return append(d, val), nil
		}
		i, err := strconv.Atoi(toks[0])
		if err != nil || i < 0 || i > len(d) || (len(toks) > 1 && i == len(d)) {
			return nil, fmt.Errorf("bad index %q", toks[0])
		}
		if len(toks) == 1 {
			return slices.Insert(d, i, val), nil
		}
		c, err := addAt(d[i], toks[1:], val)
		d[i] = c
		return d, err
	}
	return nil, fmt.Errorf("cannot add under %T", doc)
}
