package nodesim

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod() *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", UID: "uid-1", Generation: 2},
		Spec: corev1.PodSpec{
			NodeName:      "vm-1",
			RestartPolicy: corev1.RestartPolicyAlways,
			InitContainers: []corev1.Container{
				{Name: "init", Image: "busybox:1.36"},
				{Name: "sidecar", Image: "envoy:v1", RestartPolicy: &always},
			},
			Containers: []corev1.Container{
				{Name: "web", Image: "nginx:1.27"},
				{Name: "metrics", Image: "registry.example/metrics@sha256:abcd"},
			},
		},
		Status: corev1.PodStatus{
			Phase:    corev1.PodPending,
			QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
				{Type: "DisruptionTarget", Status: corev1.ConditionFalse},
			},
		},
	}
}

func TestPodStatusRunning(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	pod := testPod()
	st := podStatus(pod, podRun{hostIP: "10.1.0.4", podIP: "10.244.0.2"}, now)

	if st.Phase != corev1.PodRunning || st.QOSClass != corev1.PodQOSBestEffort || st.ObservedGeneration != 2 {
		t.Errorf("phase %s, qos %s, observedGeneration %d", st.Phase, st.QOSClass, st.ObservedGeneration)
	}
	if st.HostIP != "10.1.0.4" || len(st.HostIPs) != 1 || st.HostIPs[0].IP != "10.1.0.4" ||
		st.PodIP != "10.244.0.2" || len(st.PodIPs) != 1 || st.PodIPs[0].IP != "10.244.0.2" {
		t.Errorf("IPs: host %s %v, pod %s %v", st.HostIP, st.HostIPs, st.PodIP, st.PodIPs)
	}
	if st.StartTime == nil || !st.StartTime.Equal(&now) {
		t.Errorf("startTime = %v", st.StartTime)
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodReadyToStartContainers} {
		c := podCondition(t, st, typ)
		if c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %+v", typ, c)
		}
	}
	if c := podCondition(t, st, corev1.PodScheduled); c.LastTransitionTime.Time.Year() != 2026 || c.LastTransitionTime.Day() != 1 {
		t.Errorf("PodScheduled's transition time changed: %v", c.LastTransitionTime)
	}
	if c := podCondition(t, st, "DisruptionTarget"); c.Status != corev1.ConditionFalse {
		t.Errorf("another condition changed: %+v", c)
	}
	if len(st.ContainerStatuses) != 2 {
		t.Fatalf("containerStatuses = %v", st.ContainerStatuses)
	}
	for i, cs := range st.ContainerStatuses {
		c := pod.Spec.Containers[i]
		if cs.Name != c.Name || cs.Image != c.Image || !cs.Ready || cs.Started == nil || !*cs.Started || cs.RestartCount != 0 ||
			cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&now) ||
			!strings.HasPrefix(cs.ContainerID, "containerd://") || len(cs.ContainerID) != len("containerd://")+64 ||
			!strings.Contains(cs.ImageID, "@sha256:") {
			t.Errorf("container %d status = %+v", i, cs)
		}
	}
	if got := st.ContainerStatuses[1].ImageID; got != pod.Spec.Containers[1].Image {
		t.Errorf("imageID of a digest image = %s", got)
	}
	if got := st.ContainerStatuses[0].ImageID; !strings.HasPrefix(got, "nginx@sha256:") {
		t.Errorf("imageID = %s", got)
	}
	if len(st.InitContainerStatuses) != 2 {
		t.Fatalf("initContainerStatuses = %v", st.InitContainerStatuses)
	}
	if cs := st.InitContainerStatuses[0]; cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || cs.State.Terminated.ExitCode != 0 || *cs.Started {
		t.Errorf("init container status = %+v", cs)
	}
	if cs := st.InitContainerStatuses[1]; cs.State.Running == nil || !cs.Ready {
		t.Errorf("sidecar status = %+v", cs)
	}

	// The status of a simulated pod computed again, later, is the same.
	pod.Status = st
	later := metav1.NewTime(now.Add(time.Hour))
	if again := podStatus(pod, podRun{hostIP: "10.1.0.4", podIP: "10.244.0.2"}, later); !equality.Semantic.DeepEqual(again, st) {
		t.Errorf("status computed again changed:\n%+v\nwas\n%+v", again, st)
	}
}

func TestPodStatusExited(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	exitAt := metav1.NewTime(now.Add(time.Minute))
	for _, tc := range []struct {
		name       string
		policy     corev1.RestartPolicy
		containers int
		code       int32
		wantPhase  corev1.PodPhase
		wantReason string
	}{
		{"always, error", corev1.RestartPolicyAlways, 1, 1, corev1.PodRunning, "Error"},
		{"always, success", corev1.RestartPolicyAlways, 1, 0, corev1.PodRunning, "Completed"},
		{"never, error", corev1.RestartPolicyNever, 1, 2, corev1.PodFailed, "Error"},
		{"never, success", corev1.RestartPolicyNever, 1, 0, corev1.PodSucceeded, "Completed"},
		{"on failure, error", corev1.RestartPolicyOnFailure, 1, 3, corev1.PodRunning, "Error"},
		{"on failure, success", corev1.RestartPolicyOnFailure, 1, 0, corev1.PodSucceeded, "Completed"},
		{"never, another container runs", corev1.RestartPolicyNever, 2, 0, corev1.PodRunning, "Completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod()
			pod.Spec.RestartPolicy = tc.policy
			pod.Spec.Containers = pod.Spec.Containers[:tc.containers]
			pod.Status = podStatus(pod, podRun{hostIP: "10.1.0.4", podIP: "127.79.0.1"}, now)
			st := podStatus(pod, podRun{hostIP: "10.1.0.4", podIP: "127.79.0.1", exit: &containerExit{code: tc.code, at: exitAt}}, exitAt)
			if st.Phase != tc.wantPhase {
				t.Errorf("phase = %s; want %s", st.Phase, tc.wantPhase)
			}
			cs := st.ContainerStatuses[0]
			term := cs.State.Terminated
			if term == nil || term.ExitCode != tc.code || term.Reason != tc.wantReason || !term.StartedAt.Equal(&now) ||
				!term.FinishedAt.Equal(&exitAt) || cs.Ready || *cs.Started || term.ContainerID != cs.ContainerID {
				t.Errorf("container status = %+v, terminated %+v", cs, term)
			}
			for _, typ := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
				if c := podCondition(t, st, typ); c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Equal(&exitAt) {
					t.Errorf("condition %s = %+v", typ, c)
				}
			}
		})
	}
}

func TestPodStatusReadinessGates(t *testing.T) {
	now := metav1.Now().Rfc3339Copy()
	pod := testPod()
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
	if c := podCondition(t, podStatus(pod, podRun{hostIP: "10.1.0.4", podIP: "10.244.0.2"}, now), corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady" {
		t.Errorf("Ready with an unmet gate = %+v", c)
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/ready", Status: corev1.ConditionTrue})
	if c := podCondition(t, podStatus(pod, podRun{hostIP: "10.1.0.4", podIP: "10.244.0.2"}, now), corev1.PodReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready with a met gate = %+v", c)
	}
}

func podCondition(t *testing.T, st corev1.PodStatus, typ corev1.PodConditionType) corev1.PodCondition {
	t.Helper()
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s condition in %v", typ, st.Conditions)
	return corev1.PodCondition{}
}
