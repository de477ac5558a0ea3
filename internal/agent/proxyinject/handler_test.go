package proxyinject

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/proxyenv"
)

var testSettings = proxyenv.Settings{HTTPProxy: "http://user:s3cret@proxy:3128", NoProxy: []string{".corp"}}

// review is an AdmissionReview of obj as the API server sends it.
func review(t *testing.T, op admissionv1.Operation, resource string, obj any) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("uid-1"), Operation: op, Namespace: "ns",
			Kind:     metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: resource},
			Object:   runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, h http.Handler, method string, body []byte) (int, admissionv1.AdmissionReview) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, Path, bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("response %q: %v", rec.Body.String(), err)
		}
	}
	return rec.Code, out
}

func TestHandler(t *testing.T) {
	labelled := podWith(nil, container("app"))
	unlabelled := podWith(nil, container("app"))
	unlabelled.Labels = map[string]string{"app": "x"}
	tests := []struct {
		name      string
		method    string
		body      []byte
		code      int
		wantPatch bool
	}{
		{"labelled pod", http.MethodPost, review(t, admissionv1.Create, "pods", labelled), 200, true},
		{"unlabelled pod", http.MethodPost, review(t, admissionv1.Create, "pods", unlabelled), 200, false},
		{"update", http.MethodPost, review(t, admissionv1.Update, "pods", labelled), 200, false},
		{"another resource", http.MethodPost, review(t, admissionv1.Create, "configmaps", &corev1.ConfigMap{}), 200, false},
		{"GET", http.MethodGet, nil, 405, false},
		{"not JSON", http.MethodPost, []byte("{"), 400, false},
		{"no request", http.MethodPost, []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400, false},
		{"v1beta1", http.MethodPost, bytes.Replace(review(t, admissionv1.Create, "pods", labelled), []byte("k8s.io/v1"), []byte("k8s.io/v1beta1"), 1), 400, false},
		{"pod not an object", http.MethodPost, review(t, admissionv1.Create, "pods", []int{1}), 400, false},
	}
	var logs bytes.Buffer
	h := NewHandler(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := h.SetProxy(testSettings, proxyenv.ClusterNetwork{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := post(t, h, tt.method, tt.body)
			if code != tt.code {
				t.Fatalf("status %d, want %d", code, tt.code)
			}
			if code != 200 {
				return
			}
			if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil ||
				out.Response.UID != "uid-1" || !out.Response.Allowed {
				t.Fatalf("response %+v, want an allowed v1 AdmissionReview for uid-1", out)
			}
			if got := out.Response.PatchType != nil; got != tt.wantPatch || (len(out.Response.Patch) > 0) != tt.wantPatch {
				t.Fatalf("patch %s (type %v), want a patch: %v", out.Response.Patch, out.Response.PatchType, tt.wantPatch)
			}
			if tt.wantPatch {
				if *out.Response.PatchType != admissionv1.PatchTypeJSONPatch {
					t.Errorf("patch type %s", *out.Response.PatchType)
				}
				var ops []JSONPatchOp
				if err := json.Unmarshal(out.Response.Patch, &ops); err != nil || len(ops) != 1 || ops[0].Path != "/spec/containers/0/env" {
					t.Errorf("patch %s: %v", out.Response.Patch, err)
				}
			}
		})
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the proxy's password was logged:\n%s", logs.String())
	}
}

func TestHandlerSetProxy(t *testing.T) {
	h := NewHandler(nil)
	labelled := review(t, admissionv1.Create, "pods", podWith(nil, container("app")))
	if _, out := post(t, h, http.MethodPost, labelled); out.Response.Patch != nil {
		t.Fatalf("patch before SetProxy: %s", out.Response.Patch)
	}
	caPEM, _, err := kubecert.NewCA("test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings
	s.CACertificate = string(caPEM)
	if err := h.SetProxy(s, proxyenv.ClusterNetwork{}); err != nil {
		t.Fatal(err)
	}
	_, out := post(t, h, http.MethodPost, labelled)
	if !bytes.Contains(out.Response.Patch, []byte(`"/metadata/annotations"`)) {
		t.Errorf("no CA annotation in %s", out.Response.Patch)
	}
	for _, bad := range []string{"not pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		s.CACertificate = bad
		if err := h.SetProxy(s, proxyenv.ClusterNetwork{}); err == nil {
			t.Errorf("CA %q accepted", bad)
		}
	}
	if h.Injection().CACertificate != string(caPEM) {
		t.Error("a refused SetProxy changed the injection")
	}
	if err := h.SetProxy(proxyenv.Settings{CACertificate: string(caPEM)}, proxyenv.ClusterNetwork{}); err != nil {
		t.Fatal(err)
	}
	if _, out := post(t, h, http.MethodPost, labelled); out.Response.Patch != nil {
		t.Errorf("patch without a proxy: %s", out.Response.Patch)
	}
}
