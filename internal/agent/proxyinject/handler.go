package proxyinject

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-dev/strata/internal/proxyenv"
)

// Path is where Handler is served.
const Path = "/mutate-pods"

// maxReviewBytes bounds an AdmissionReview's body; the API server's own request limit is 3 MiB.
const maxReviewBytes = 8 << 20

// podsResource is the only resource Handler patches.
var podsResource = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}

// Handler serves admission.k8s.io/v1 AdmissionReviews: a pod being created with the label
// spectrocloud.com/connection: proxy gets the current Injection as a JSON patch; anything else
// is allowed unchanged. A request that is not an AdmissionReview gets 400. The zero Handler is
// not usable: make one with NewHandler.
type Handler struct {
	log *slog.Logger
	inj atomic.Pointer[Injection]
}

// NewHandler returns a Handler that injects nothing until SetProxy. A nil log discards.
func NewHandler(log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{log: log}
	h.inj.Store(&Injection{})
	return h
}

// SetProxy makes the pods admitted from now on get the proxy of s for the cluster network n:
// proxyenv.Env(s, n) and, when s has one, its CA certificate. Without a proxy in s, pods get
// nothing. It returns an error, and changes nothing, when the CA certificate is not PEM
// certificates or is too large.
func (h *Handler) SetProxy(s proxyenv.Settings, n proxyenv.ClusterNetwork) error {
	inj := Injection{Env: proxyenv.Env(s, n)}
	if len(inj.Env) > 0 && s.CACertificate != "" {
		if err := checkCAPEM(s.CACertificate); err != nil {
			return err
		}
		inj.CACertificate = s.CACertificate
	}
	h.inj.Store(&inj)
	h.log.Info("proxy injection set", "variables", len(inj.Env), "ca", inj.CACertificate != "")
	return nil
}

// Injection returns what a labelled pod gets now.
func (h *Handler) Injection() Injection {
	return *h.inj.Load()
}

// ServeHTTP answers one AdmissionReview.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReviewBytes))
	if err := dec.Decode(&review); err != nil {
		h.badRequest(w, fmt.Errorf("decoding the AdmissionReview: %w", err))
		return
	}
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" || review.Request == nil {
		h.badRequest(w, errors.New("not an admission.k8s.io/v1 AdmissionReview with a request"))
		return
	}
	resp, err := h.review(review.Request)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		h.log.Warn("writing an admission response", "error", err)
	}
}

// review answers one request: allowed, with the pod's patch when it has one.
func (h *Handler) review(req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Resource != podsResource || req.SubResource != "" || req.Operation != admissionv1.Create {
		return resp, nil
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return nil, fmt.Errorf("decoding the pod: %w", err)
	}
	if pod.Labels[ConnectionLabel] != ConnectionProxy {
		return resp, nil
	}
	ops, err := Patch(&pod, h.Injection())
	if err != nil {
		// Fail open, as the webhook's failurePolicy does: the pod is created without the proxy.
		h.log.Error("patching a pod", "namespace", req.Namespace, "pod", podName(&pod), "error", err)
		return resp, nil
	}
	if len(ops) == 0 {
		return resp, nil
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	h.log.Info("injecting the proxy", "namespace", req.Namespace, "pod", podName(&pod), "operations", len(ops))
	return resp, nil
}

func (h *Handler) badRequest(w http.ResponseWriter, err error) {
	h.log.Warn("bad admission request", "error", err)
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// podName is the pod's name, or its generateName (a ReplicaSet's pods have no name yet).
func podName(pod *corev1.Pod) string {
	if pod.Name != "" {
		return pod.Name
	}
	return pod.GenerateName
}
