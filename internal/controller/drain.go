package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// drainStartedAnnotation marks a Node strata cordoned to drain it, with when it started
// (RFC 3339): the drain's timeout counts from it across restarts, and a Node so marked whose
// machine is gone is strata's to delete.
const drainStartedAnnotation = "strata.io/drain-started"

// drainResult is what one round of a drain saw.
type drainResult struct {
	// drained: no pod is left to evict (or the timeout passed: timedOut, with left pods).
	drained, timedOut bool
	left              int
}

// drainNode runs one round of a node's drain, as kubectl drain does, without waiting: it
// cordons the node (marking when the drain started, once), then asks for the eviction of
// each of its pods but DaemonSets' and static pods, which the Eviction API refuses (429)
// while a PodDisruptionBudget would be broken. The node is drained when no such pod is left;
// the drain gives up once timeout has passed since it started. A node that is gone is
// drained.
func drainNode(ctx context.Context, core corev1client.CoreV1Interface, name string, timeout time.Duration, now time.Time) (drainResult, error) {
	node, err := core.Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return drainResult{drained: true}, nil
	}
	if err != nil {
		return drainResult{}, fmt.Errorf("get the node: %w", err)
	}
	started, err := cordon(ctx, core, node, now)
	if err != nil {
		return drainResult{}, err
	}
	pods, err := core.Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return drainResult{}, fmt.Errorf("list the node's pods: %w", err)
	}
	left := 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !evictable(pod) {
			continue
		}
		left++
		if pod.DeletionTimestamp != nil {
			continue // being deleted
		}
		err := core.Pods(pod.Namespace).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}})
		switch {
		case err == nil, apierrors.IsTooManyRequests(err):
			// Evicted, or refused for now by a disruption budget: it counts until it is gone.
		case apierrors.IsNotFound(err):
			left--
		default:
			return drainResult{}, fmt.Errorf("evict pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	if left > 0 && now.Sub(started) >= timeout {
		return drainResult{drained: true, timedOut: true, left: left}, nil
	}
	return drainResult{drained: left == 0, left: left}, nil
}

// cordon marks a node unschedulable with the time its drain started, unless it is so marked
// already, and returns that time.
func cordon(ctx context.Context, core corev1client.CoreV1Interface, node *corev1.Node, now time.Time) (time.Time, error) {
	if at, ok := node.Annotations[drainStartedAnnotation]; ok && node.Spec.Unschedulable {
		if t, err := time.Parse(time.RFC3339, at); err == nil {
			return t, nil
		}
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{drainStartedAnnotation: now.UTC().Format(time.RFC3339)}},
		"spec":     map[string]any{"unschedulable": true},
	})
	if err != nil {
		return time.Time{}, err
	}
	if _, err := core.Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return time.Time{}, fmt.Errorf("cordon the node: %w", err)
	}
	return now, nil
}

// evictable reports whether a drain evicts a pod: not a static (mirror) pod, not a
// DaemonSet's (it would come back, and tolerates the cordon), not one that has ended.
func evictable(pod *corev1.Pod) bool {
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "DaemonSet" && ref.Controller != nil && *ref.Controller {
			return false
		}
	}
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}
