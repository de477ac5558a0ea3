package nodesim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podRun is what the simulator holds of a pod beyond the pod object.
type podRun struct {
	hostIP, podIP string
	// exit, when set, is how the first container's process (a Runner's) ended.
	exit *containerExit
}

// containerExit is how a Runner's process ended.
type containerExit struct {
	code int32
	at   metav1.Time
}

// podStatus returns the status a kubelet would report for pod once its containers run: phase
// Running on hostIP with podIP, every condition True, each container running and ready, init
// containers completed (sidecars running). When run.exit is set, the first container is
// terminated with that exit code and not ready, and the phase follows the restart policy
// (nothing is restarted). Start and transition times and container IDs already in
// pod.Status are kept, so that computing the status of a simulated pod again returns it
// unchanged; fields the simulator does not manage (qosClass, other conditions) stay.
func podStatus(pod *corev1.Pod, run podRun, now metav1.Time) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	st.ObservedGeneration = pod.Generation
	st.HostIP, st.HostIPs = run.hostIP, []corev1.HostIP{{IP: run.hostIP}}
	st.PodIP, st.PodIPs = run.podIP, []corev1.PodIP{{IP: run.podIP}}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	st.InitContainerStatuses = initContainerStatuses(pod, now)
	st.ContainerStatuses = make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	ready := true
	for i, c := range pod.Spec.Containers {
		old := findStatus(pod.Status.ContainerStatuses, c.Name)
		var cs corev1.ContainerStatus
		if i == 0 && run.exit != nil {
			cs = terminatedStatus(c, old, *run.exit, now)
		} else {
			cs = runningStatus(c, old, now)
		}
		ready = ready && cs.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	st.Phase = podPhase(pod, run.exit)
	st.Reason, st.Message = "", ""
	setPodConditions(&st, pod, ready, now)
	return st
}

// podPhase is the phase of a pod whose containers run, or whose first container ended with
// exit (and is not restarted): Running while restartPolicy would restart it.
func podPhase(pod *corev1.Pod, exit *containerExit) corev1.PodPhase {
	if exit == nil || len(pod.Spec.Containers) > 1 {
		return corev1.PodRunning
	}
	switch policy := pod.Spec.RestartPolicy; {
	case policy == corev1.RestartPolicyNever && exit.code != 0:
		return corev1.PodFailed
	case policy != corev1.RestartPolicyAlways && exit.code == 0:
		return corev1.PodSucceeded
	}
	return corev1.PodRunning
}

// setPodConditions sets st's conditions: all True, but ContainersReady and Ready follow
// ready, and Ready the pod's readiness gates.
func setPodConditions(st *corev1.PodStatus, pod *corev1.Pod, ready bool, now metav1.Time) {
	notReady := "ContainersNotReady"
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		notReady = "PodCompleted"
	}
	containersReady := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	if !ready {
		containersReady = corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: notReady}
	}
	podReady := containersReady
	podReady.Type = corev1.PodReady
	for _, g := range pod.Spec.ReadinessGates {
		i := slices.IndexFunc(st.Conditions, func(c corev1.PodCondition) bool { return c.Type == g.ConditionType })
		if ready && (i < 0 || st.Conditions[i].Status != corev1.ConditionTrue) {
			podReady = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady"}
		}
	}
	for _, c := range []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		containersReady,
		podReady,
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	} {
		c.ObservedGeneration = pod.Generation
		st.Conditions = setPodCondition(st.Conditions, c, now)
	}
}

// setPodCondition sets c in conds in place of the condition of its type, keeping the
// transition time unless the status changes.
func setPodCondition(conds []corev1.PodCondition, c corev1.PodCondition, now metav1.Time) []corev1.PodCondition {
	i := slices.IndexFunc(conds, func(o corev1.PodCondition) bool { return o.Type == c.Type })
	if i < 0 {
		c.LastTransitionTime = now
		return append(conds, c)
	}
	c.LastTransitionTime, c.LastProbeTime = conds[i].LastTransitionTime, conds[i].LastProbeTime
	if conds[i].Status != c.Status {
		c.LastTransitionTime = now
	}
	conds[i] = c
	return conds
}

// initContainerStatuses reports pod's init containers completed, and its sidecars (init
// containers with restartPolicy Always) running.
func initContainerStatuses(pod *corev1.Pod, now metav1.Time) []corev1.ContainerStatus {
	if len(pod.Spec.InitContainers) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for _, c := range pod.Spec.InitContainers {
		old := findStatus(pod.Status.InitContainerStatuses, c.Name)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, runningStatus(c, old, now))
			continue
		}
		cs := terminatedStatus(c, old, containerExit{code: 0, at: now}, now)
		cs.Ready = true
		out = append(out, cs)
	}
	return out
}

// runningStatus is c's status as a running, ready container.
func runningStatus(c corev1.Container, old *corev1.ContainerStatus, now metav1.Time) corev1.ContainerStatus {
	cs := newContainerStatus(c, old)
	cs.Ready, cs.Started = true, new(true)
	if old != nil && old.State.Running != nil {
		cs.State = corev1.ContainerState{Running: old.State.Running.DeepCopy()}
	} else {
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	}
	return cs
}

// terminatedStatus is c's status as a container that ended as exit tells.
func terminatedStatus(c corev1.Container, old *corev1.ContainerStatus, exit containerExit, now metav1.Time) corev1.ContainerStatus {
	cs := newContainerStatus(c, old)
	cs.Started = new(false)
	if old != nil && old.State.Terminated != nil && old.State.Terminated.ExitCode == exit.code {
		cs.State = corev1.ContainerState{Terminated: old.State.Terminated.DeepCopy()}
		return cs
	}
	t := &corev1.ContainerStateTerminated{ExitCode: exit.code, Reason: "Completed", StartedAt: now, FinishedAt: exit.at, ContainerID: cs.ContainerID}
	if exit.code != 0 {
		t.Reason = "Error"
	}
	if old != nil && old.State.Running != nil {
		t.StartedAt = old.State.Running.StartedAt
	}
	cs.State = corev1.ContainerState{Terminated: t}
	return cs
}

// newContainerStatus is c's status with its image and its container ID (old's, or a new one).
func newContainerStatus(c corev1.Container, old *corev1.ContainerStatus) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), RestartCount: 0}
	if old != nil && old.ContainerID != "" {
		cs.ContainerID = old.ContainerID
	} else {
		cs.ContainerID = "containerd://" + randomHex(32)
	}
	return cs
}

// findStatus returns the status named name in statuses, or nil.
func findStatus(statuses []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	i := slices.IndexFunc(statuses, func(cs corev1.ContainerStatus) bool { return cs.Name == name })
	if i < 0 {
		return nil
	}
	return &statuses[i]
}

// imageID is a repository digest for image, as containerd reports it: the image itself
// when it names a digest, else a digest made up from its name.
func imageID(image string) string {
	if strings.Contains(image, "@sha256:") {
		return image
	}
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	sum := sha256.Sum256([]byte(image))
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
