package upgradebench

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/provisionbench"
)

// workloadName names the namespace, Deployment and PodDisruptionBudget of the workload.
const workloadName = "app"

// deployWorkload makes, in the running cluster, a Deployment of o.Pods replicas of the pause
// image and a PodDisruptionBudget of minAvailable o.Pods-1, as the end-to-end test of the
// rolling upgrade does, and waits until every replica is available: the drains then evict
// real pods, one at a time. It does nothing without Kubernetes or pods.
func (b *bench) deployWorkload(ctx context.Context, cl *v1alpha1.Cluster) error {
	if b.o.WithoutKubernetes || b.o.Pods <= 0 {
		return nil
	}
	key := "iaas/" + strings.ToLower(plan.APIServerEndpoint(cl))
	cfg, ok := b.em.Kubernetes().RESTConfig(key)
	if !ok {
		return fmt.Errorf("workload: the emulator runs no API server for %s", key)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("workload: client of %s: %w", key, err)
	}
	if err := createWorkload(ctx, kc, int32(b.o.Pods)); err != nil {
		return fmt.Errorf("workload: %w", err)
	}
	return provisionbench.Wait(ctx, fmt.Sprintf("%d available replicas", b.o.Pods), func() bool {
		d, err := kc.AppsV1().Deployments(workloadName).Get(ctx, workloadName, metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == int32(b.o.Pods)
	})
}

// createWorkload creates the namespace, the Deployment of n replicas and its budget.
func createWorkload(ctx context.Context, kc kubernetes.Interface, n int32) error {
	labels := map[string]string{"app": workloadName}
	meta := metav1.ObjectMeta{Name: workloadName, Namespace: workloadName}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: workloadName}}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", workloadName, err)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: workloadName, Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := kc.AppsV1().Deployments(workloadName).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create deployment %s: %w", workloadName, err)
	}
	minAvailable := intstr.FromInt32(n - 1)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: meta,
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}
	if _, err := kc.PolicyV1().PodDisruptionBudgets(workloadName).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod disruption budget %s: %w", workloadName, err)
	}
	return nil
}
