package layers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// available reports whether a live object does its job yet and, when not, why, naming it as
// "Kind namespace/name": a Deployment, StatefulSet or DaemonSet has observed its generation and
// has all its replicas updated and available (ready), a Job is Complete, a CRD is Established;
// anything else is available as soon as it exists. An object being deleted is not available.
func available(obj *unstructured.Unstructured) (bool, string) {
	ref := objRef(obj.GetKind(), obj.GetNamespace(), obj.GetName())
	if obj.GetDeletionTimestamp() != nil {
		return false, ref + ": being deleted"
	}
	var why string
	switch obj.GroupVersionKind().GroupKind() {
	case gkDeployment:
		why = deploymentWaits(obj)
	case gkStatefulSet:
		why = statefulSetWaits(obj)
	case gkDaemonSet:
		why = daemonSetWaits(obj)
	case gkJob:
		why = jobWaits(obj)
	case gkCRD:
		why = crdWaits(obj)
	}
	if why != "" {
		return false, ref + ": " + why
	}
	return true, ""
}

// deploymentWaits says what a Deployment lacks to be available, or "".
func deploymentWaits(obj *unstructured.Unstructured) string {
	if why := generationWaits(obj); why != "" {
		return why
	}
	want := intField(obj, 1, "spec", "replicas")
	updated := intField(obj, 0, "status", "updatedReplicas")
	total := intField(obj, 0, "status", "replicas")
	avail := intField(obj, 0, "status", "availableReplicas")
	switch {
	case updated < want:
		return fmt.Sprintf("%d of %d replicas updated", updated, want)
	case total > updated:
		return fmt.Sprintf("%d old replicas pending termination", total-updated)
	case avail < want:
		return fmt.Sprintf("%d of %d replicas available", avail, want)
	}
	return ""
}

// statefulSetWaits says what a StatefulSet lacks to be available, or "".
func statefulSetWaits(obj *unstructured.Unstructured) string {
	if why := generationWaits(obj); why != "" {
		return why
	}
	want := intField(obj, 1, "spec", "replicas")
	ready := intField(obj, 0, "status", "readyReplicas")
	updated := intField(obj, 0, "status", "updatedReplicas")
	strategy, _, _ := unstructured.NestedString(obj.Object, "spec", "updateStrategy", "type")
	wantUpdated := want - intField(obj, 0, "spec", "updateStrategy", "rollingUpdate", "partition")
	switch {
	case ready != want:
		return fmt.Sprintf("%d of %d replicas ready", ready, want)
	case strategy != "OnDelete" && updated < wantUpdated:
		return fmt.Sprintf("%d of %d replicas updated", updated, wantUpdated)
	}
	return ""
}

// daemonSetWaits says what a DaemonSet lacks to be available, or "".
func daemonSetWaits(obj *unstructured.Unstructured) string {
	if why := generationWaits(obj); why != "" {
		return why
	}
	want := intField(obj, 0, "status", "desiredNumberScheduled")
	updated := intField(obj, 0, "status", "updatedNumberScheduled")
	avail := intField(obj, 0, "status", "numberAvailable")
	strategy, _, _ := unstructured.NestedString(obj.Object, "spec", "updateStrategy", "type")
	switch {
	case strategy != "OnDelete" && updated != want:
		return fmt.Sprintf("%d of %d scheduled pods updated", updated, want)
	case avail != want:
		return fmt.Sprintf("%d of %d scheduled pods available", avail, want)
	}
	return ""
}

// jobWaits says what a Job lacks to be Complete, or "".
func jobWaits(obj *unstructured.Unstructured) string {
	if st, reason, msg := condition(obj, "Failed"); st == "True" {
		return fmt.Sprintf("failed: %s: %s", reason, msg)
	}
	if st, _, _ := condition(obj, "Complete"); st == "True" {
		return ""
	}
	return fmt.Sprintf("not complete (%d pods succeeded)", intField(obj, 0, "status", "succeeded"))
}

// crdWaits says why a CustomResourceDefinition is not Established, or "".
func crdWaits(obj *unstructured.Unstructured) string {
	if st, _, _ := condition(obj, "Established"); st == "True" {
		return ""
	}
	if st, reason, msg := condition(obj, "NamesAccepted"); st == "False" {
		return fmt.Sprintf("not Established: names not accepted: %s: %s", reason, msg)
	}
	return "not Established"
}

// generationWaits says whether a workload's controller has not observed its spec yet.
func generationWaits(obj *unstructured.Unstructured) string {
	gen, observed := intField(obj, 0, "metadata", "generation"), intField(obj, 0, "status", "observedGeneration")
	if observed < gen {
		return fmt.Sprintf("generation %d not observed yet (observed %d)", gen, observed)
	}
	return ""
}

// intField returns a numeric field, or def when it is absent.
func intField(obj *unstructured.Unstructured, def int64, fields ...string) int64 {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	if !found || err != nil {
		return def
	}
	if f, ok := number(v); ok {
		return int64(f)
	}
	return def
}

// condition returns the status, reason and message of a status condition ("" if absent).
func condition(obj *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		status, _ = m["status"].(string)
		reason, _ = m["reason"].(string)
		message, _ = m["message"].(string)
		return status, reason, message
	}
	return "", "", ""
}
