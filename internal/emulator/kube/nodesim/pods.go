package nodesim

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// podState is what the simulator holds of a pod it simulates.
type podState struct {
	node     string
	ip       netip.Addr
	loopback bool   // ip is from the loopback pool
	stop     func() // stops the Runner's process; nil when none runs
	exit     *containerExit
	// writtenRV and written are the resourceVersion our last status write returned and
	// what it was computed from: a pod still at writtenRV needs no write for the same run.
	writtenRV string
	written   podRun
}

// activate marks running machine n's Node Ready for pods, with the pod CIDR cidr, and queues
// its pods the first time.
func (s *Simulator) activate(n Node, cidr netip.Prefix) {
	s.mu.Lock()
	pool := s.pools[n.Name]
	if pool == nil || pool.prefix != cidr {
		pool = newIPPool(cidr, 2) // .0 is the network, .1 the node's bridge
		s.pools[n.Name] = pool
	}
	_, was := s.active[n.Name]
	s.active[n.Name] = activeNode{node: n, pool: pool}
	s.mu.Unlock()
	if was {
		return
	}
	keys, err := s.podIndexer.IndexKeys(nodeNameIndex, n.Name)
	if err != nil {
		s.log.Warn("listing a node's pods", "node", n.Name, "err", err)
	}
	for _, k := range keys {
		s.queue.Add(k)
	}
}

// deactivate marks the Node of machine name, stopped or gone, as no longer running pods:
// their processes stop, and their status is left as it is.
func (s *Simulator) deactivate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.active[name]; !ok {
		return
	}
	delete(s.active, name)
	for _, ps := range s.pods {
		if ps.node == name {
			s.stopLocked(ps)
			ps.writtenRV = ""
		}
	}
}

// stopLocked stops ps's process in the background, with s.mu held.
func (s *Simulator) stopLocked(ps *podState) {
	if stop := ps.stop; stop != nil {
		ps.stop = nil
		s.bg.Go(stop)
	}
}

// podEvent queues a pod bound to an active node.
func (s *Simulator) podEvent(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.mu.Lock()
	_, ours := s.active[pod.Spec.NodeName]
	s.mu.Unlock()
	if ours {
		key, err := cache.MetaNamespaceKeyFunc(pod)
		if err == nil {
			s.queue.Add(key)
		}
	}
}

// podDeleted forgets a pod that is gone: its process stops, its IP is free.
func (s *Simulator) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		s.forgetPod(pod.UID)
	}
}

// forgetPod stops pod uid's process and frees its IP.
func (s *Simulator) forgetPod(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.pods[uid]
	if ps == nil {
		return
	}
	delete(s.pods, uid)
	s.stopLocked(ps)
	switch {
	case ps.loopback:
		s.loopback.release(string(uid), ps.ip)
	case s.pools[ps.node] != nil:
		s.pools[ps.node].release(string(uid), ps.ip)
	}
}

// podWorker syncs the queued pods until the queue shuts down.
func (s *Simulator) podWorker(ctx context.Context) {
	for {
		key, quit := s.queue.Get()
		if quit {
			return
		}
		if err := s.syncPod(ctx, key); err != nil && ctx.Err() == nil {
			level := slog.LevelDebug
			if s.queue.NumRequeues(key) >= 5 {
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "syncing pod failed, retrying", "pod", key, "err", err)
			s.queue.AddRateLimited(key)
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(key)
	}
}

// syncPod plays the kubelet's part for pod key if it is bound to an active node: finishes
// its deletion, or reports it running.
func (s *Simulator) syncPod(ctx context.Context, key string) error {
	obj, exists, err := s.podIndexer.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	pod := obj.(*corev1.Pod)
	s.mu.Lock()
	an, ok := s.active[pod.Spec.NodeName]
	s.mu.Unlock()
	switch {
	case !ok:
		return nil
	case pod.DeletionTimestamp != nil:
		return s.finishPod(ctx, pod)
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return nil
	}
	run, ps, err := s.preparePod(ctx, pod, an)
	if err != nil || run == nil {
		return err
	}
	status := podStatus(pod, *run, metav1.Now().Rfc3339Copy())
	if equality.Semantic.DeepEqual(status, pod.Status) {
		return nil
	}
	upd := pod.DeepCopy()
	upd.Status = status
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	res, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("updating status of pod %s: %w", key, err)
	}
	s.mu.Lock()
	ps.writtenRV, ps.written = res.ResourceVersion, *run
	s.mu.Unlock()
	s.log.Debug("pod running", "pod", key, "node", pod.Spec.NodeName, "podIP", run.podIP, "phase", status.Phase)
	return nil
}

// preparePod gives pod its IP and starts its process if a Runner claims it, and returns the
// run to report, or nil when the pod is as our last write left it.
func (s *Simulator) preparePod(ctx context.Context, pod *corev1.Pod, an activeNode) (*podRun, *podState, error) {
	claimed := s.opts.Runner != nil && s.opts.Runner.Claims(pod)
	s.mu.Lock()
	ps := s.pods[pod.UID]
	if ps == nil {
		ps = &podState{node: pod.Spec.NodeName}
		s.pods[pod.UID] = ps
	}
	if err := s.allocateLocked(pod, ps, an, claimed); err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	start := claimed && ps.stop == nil && ps.exit == nil
	run := podRun{hostIP: an.node.InternalIP, podIP: ps.ip.String(), exit: ps.exit}
	if pod.Spec.HostNetwork && !claimed {
		run.podIP = an.node.InternalIP
	}
	s.mu.Unlock()
	if start {
		if err := s.startProcess(ctx, pod, ps, run.podIP); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !start && pod.ResourceVersion == ps.writtenRV && run == ps.written {
		return nil, ps, nil
	}
	return &run, ps, nil
}

// allocateLocked gives ps an IP if it has none: from the loopback pool for a pod a Runner
// claims, else from the node's pool (none for host network pods). The pod keeps the IP its
// status has when it can (after a restart of the simulator).
func (s *Simulator) allocateLocked(pod *corev1.Pod, ps *podState, an activeNode, claimed bool) error {
	if ps.ip.IsValid() || (pod.Spec.HostNetwork && !claimed) {
		return nil
	}
	want, _ := netip.ParseAddr(pod.Status.PodIP)
	pool := an.pool
	if claimed {
		pool = s.loopback
	}
	ip, err := pool.allocate(string(pod.UID), want)
	if err != nil {
		return err
	}
	ps.ip, ps.loopback = ip, claimed
	return nil
}

// startProcess has the Runner start pod with podIP, and records how to stop it.
func (s *Simulator) startProcess(ctx context.Context, pod *corev1.Pod, ps *podState, podIP string) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	key := pod.Namespace + "/" + pod.Name
	pod, err := s.withEnvValues(ctx, pod)
	if err != nil {
		return fmt.Errorf("starting pod %s: %w", key, err)
	}
	pod, forget, err := s.withCredentials(ctx, pod, os.TempDir())
	if err != nil {
		return fmt.Errorf("starting pod %s: %w", key, err)
	}
	var stop func()
	if r, ok := s.opts.Runner.(ExitReporter); ok {
		stop, err = r.StartReporting(ctx, pod, podIP, func(code int) { s.processExited(ps, key, code) })
	} else {
		stop, err = s.opts.Runner.Start(ctx, pod, podIP)
	}
	if err != nil {
		forget()
		return fmt.Errorf("starting pod %s: %w", key, err)
	}
	stopProcess := stop
	stop = sync.OnceFunc(func() { stopProcess(); forget() })
	s.mu.Lock()
	defer s.mu.Unlock()
	ps.stop = stop
	if s.pods[pod.UID] != ps || s.active[ps.node].pool == nil {
		s.stopLocked(ps) // deleted, or its node stopped, meanwhile
	}
	s.log.Info("pod process started", "pod", key, "podIP", podIP)
	return nil
}

// processExited records that ps's process ended by itself, and queues its pod.
func (s *Simulator) processExited(ps *podState, key string, code int) {
	s.mu.Lock()
	ps.exit = &containerExit{code: int32(code), at: metav1.Now().Rfc3339Copy()}
	ps.stop = nil
	s.mu.Unlock()
	s.queue.Add(key)
}

// finishPod stops the process of pod, which is being deleted, and deletes it at once, as
// the kubelet does once its containers have stopped.
func (s *Simulator) finishPod(ctx context.Context, pod *corev1.Pod) error {
	s.mu.Lock()
	var stop func()
	if ps := s.pods[pod.UID]; ps != nil {
		stop, ps.stop = ps.stop, nil
	}
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	err := s.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	switch {
	case err == nil:
		s.log.Debug("pod deleted", "pod", pod.Namespace+"/"+pod.Name)
	case !apierrors.IsNotFound(err) && !apierrors.IsConflict(err):
		return fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
