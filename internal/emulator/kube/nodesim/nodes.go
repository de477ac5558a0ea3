package nodesim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	// nodeLeaseNamespace holds the nodes' leases.
	nodeLeaseNamespace = "kube-node-lease"
	// leaseDurationSeconds is the nodes' lease duration, the kubelet's default.
	leaseDurationSeconds = 40
	// heartbeatLeases is how many lease intervals pass between Ready heartbeats.
	heartbeatLeases = 4
)

// nodeState is what the node loop keeps of a Node between syncs.
type nodeState struct {
	since       time.Time             // when its machine stopped running; zero while it runs
	lease       *coordinationv1.Lease // as last written
	renewed     time.Time             // when the lease was last renewed
	statusRV    string                // the resourceVersion our last status write returned
	statusOf    *Node                 // the machine that write was for, nil when it was not running
	ownedLabels []string              // the label keys we set
	ownedTaints []corev1.Taint        // the taints we set
	// registered: the Node was created or seen since the machine last started running;
	// deregistered: it was then deleted by someone else, and is not created again until the
	// machine runs anew (a kubelet registers once, when it starts).
	registered, deregistered bool
}

// activeNode is a running machine whose Node is Ready, with its pods' IP pool.
type activeNode struct {
	node Node
	pool *ipPool
}

// syncNodes brings every tracked Node to its desired state, and returns when it wants to
// run again (a lease renewal, a grace period's end).
func (s *Simulator) syncNodes(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	desired, ok := maps.Clone(s.desired), s.desired != nil
	s.mu.Unlock()
	next := s.opts.LeaseInterval
	if !ok {
		return next, nil
	}
	s.trackStale(desired)
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.tracked)) {
		st := s.tracked[name]
		n, present := desired[name]
		var d time.Duration
		var err error
		if present && n.Running {
			d, err = s.syncRunning(ctx, st, n)
		} else {
			n.Name = name
			var done bool
			d, done, err = s.syncStopped(ctx, st, n, present)
			if done {
				delete(s.tracked, name)
			}
		}
		next = min(next, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", name, err))
		}
	}
	return next, errors.Join(errs...)
}

// trackStale starts tracking the desired machines, and the Nodes a simulator made that are
// not desired (left by an earlier run).
func (s *Simulator) trackStale(desired map[string]Node) {
	for name := range desired {
		if s.tracked[name] == nil {
			s.tracked[name] = &nodeState{}
		}
	}
	nodes, err := s.nodeLister.List(labels.Everything())
	if err != nil {
		return // a cache lister does not fail
	}
	for _, n := range nodes {
		if n.Annotations[SimulatedAnnotation] != "" && s.tracked[n.Name] == nil {
			s.tracked[n.Name] = &nodeState{since: time.Now()}
		}
	}
}

// syncRunning keeps the Node of running machine n Ready: created, labelled, tainted, its
// status current and its lease renewed.
func (s *Simulator) syncRunning(ctx context.Context, st *nodeState, n Node) (time.Duration, error) {
	if !st.since.IsZero() {
		st.since, st.statusRV = time.Time{}, ""
		st.registered, st.deregistered = false, false
	}
	if st.deregistered {
		return s.opts.LeaseInterval, nil
	}
	cur, err := s.nodeLister.Get(n.Name)
	if apierrors.IsNotFound(err) && st.registered {
		if cur, err = s.deregistered(ctx, st, n.Name); cur == nil && err == nil {
			return s.opts.LeaseInterval, nil
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		cur, err = s.createNode(ctx, st, n)
	case err == nil:
		cur, err = s.updateNodeMeta(ctx, st, n, cur, false)
	}
	if err != nil {
		return 0, err
	}
	st.registered = true
	if cur, err = s.updateNodeStatus(ctx, st, n, cur, true); err != nil {
		return 0, err
	}
	cidr, err := netip.ParsePrefix(cur.Spec.PodCIDR)
	if err != nil || !cidr.Addr().Is4() || cidr.Bits() > 28 {
		return 0, fmt.Errorf("pod CIDR %q: not an IPv4 prefix of 16 addresses or more", cur.Spec.PodCIDR)
	}
	s.cidrs.adopt(n.Name, cidr)
	s.activate(n, cidr)
	due := st.renewed.Add(s.opts.LeaseInterval - s.opts.LeaseInterval/10)
	if now := time.Now(); now.Before(due) {
		return due.Sub(now), nil
	}
	if err := s.renewLease(ctx, st, cur); err != nil {
		return 0, err
	}
	return s.opts.LeaseInterval, nil
}

// deregistered tells, for running machine name whose Node the cache no longer has after it
// registered, whether the Node is really gone (the cache may lag behind our creation): it
// returns the Node when it is there, or nil when it was deleted, by whoever drains and
// removes the machine's node (strata's rolling replacement, or kubectl delete node). A
// kubelet does not register again until it restarts: the simulator stops keeping the Node
// and simulating its pods until the machine stops and runs again, so that a Node deleted
// before the machine's removal reached SetNodes does not come back.
func (s *Simulator) deregistered(ctx context.Context, st *nodeState, name string) (*corev1.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	cur, err := s.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return cur, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("getting node: %w", err)
	}
	st.deregistered, st.lease, st.statusRV = true, nil, ""
	s.deactivate(name)
	s.log.Info("node deleted through the API; not registering it again while its machine runs", "node", name)
	return nil, nil
}

// syncStopped turns the Node of machine n, stopped or gone, NotReady, keeps it tainted when
// present and Shutdown, and otherwise deletes it after the grace period. done tells that the
// Node is gone and the machine absent: nothing is left to track.
func (s *Simulator) syncStopped(ctx context.Context, st *nodeState, n Node, present bool) (next time.Duration, done bool, err error) {
	next = s.opts.LeaseInterval
	if st.since.IsZero() {
		st.since, st.statusRV, st.lease = time.Now(), "", nil
	}
	s.deactivate(n.Name)
	cur, err := s.nodeLister.Get(n.Name)
	if apierrors.IsNotFound(err) {
		return next, !present, nil
	} else if err != nil {
		return next, false, fmt.Errorf("getting node: %w", err)
	}
	if cur, err = s.updateNodeStatus(ctx, st, n, cur, false); apierrors.IsNotFound(err) {
		return next, !present, nil
	} else if err != nil {
		return next, false, err
	}
	if present && n.Shutdown {
		_, err = s.updateNodeMeta(ctx, st, n, cur, true)
		return next, false, err
	}
	if left := s.opts.Grace - time.Since(st.since); left > 0 {
		return min(next, left), false, nil
	}
	if err := s.deleteNode(ctx, st, cur); err != nil {
		return next, false, err
	}
	return next, !present, nil
}

// createNode creates running machine n's Node.
func (s *Simulator) createNode(ctx context.Context, st *nodeState, n Node) (*corev1.Node, error) {
	cidr, err := s.cidrs.get(n.Name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	created, err := s.client.CoreV1().Nodes().Create(ctx, newNodeObject(n, cidr, metav1.Now().Rfc3339Copy()), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = s.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("creating node: %w", err)
	}
	st.ownedLabels, st.ownedTaints = slices.Collect(maps.Keys(n.Labels)), n.Taints
	s.log.Info("node created", "node", n.Name, "podCIDR", created.Spec.PodCIDR)
	return created, nil
}

// updateNodeMeta sets n's labels and taints (and the shutdown taint with shutdown) on cur,
// its providerID and pod CIDR if it has none, and the simulated annotation.
func (s *Simulator) updateNodeMeta(ctx context.Context, st *nodeState, n Node, cur *corev1.Node, shutdown bool) (*corev1.Node, error) {
	want := slices.Clone(n.Taints)
	if shutdown {
		want = append(want, shutdownTaint)
	}
	var cidr netip.Prefix
	if cur.Spec.PodCIDR == "" {
		var err error
		if cidr, err = s.cidrs.get(n.Name); err != nil {
			return nil, err
		}
	}
	res, err := s.updateNode(ctx, cur, false, func(node *corev1.Node) bool {
		before := node.DeepCopy()
		node.Labels = mergeLabels(node.Labels, n.Labels, st.ownedLabels)
		node.Spec.Taints = mergeTaints(node.Spec.Taints, want, st.ownedTaints)
		if node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		node.Annotations[SimulatedAnnotation] = "true"
		if node.Spec.ProviderID == "" {
			node.Spec.ProviderID = n.ProviderID
		}
		if node.Spec.PodCIDR == "" && cidr.IsValid() {
			node.Spec.PodCIDR, node.Spec.PodCIDRs = cidr.String(), []string{cidr.String()}
		}
		return !equality.Semantic.DeepEqual(before, node)
	})
	if err != nil {
		return nil, fmt.Errorf("updating node: %w", err)
	}
	st.ownedLabels, st.ownedTaints = slices.Collect(maps.Keys(n.Labels)), want
	return res, nil
}

// updateNodeStatus writes n's status, running or not, to cur when it changed (and is not
// just what our last write returned) or, running, when the Ready heartbeat is due.
func (s *Simulator) updateNodeStatus(ctx context.Context, st *nodeState, n Node, cur *corev1.Node, running bool) (*corev1.Node, error) {
	res, err := s.updateNode(ctx, cur, true, func(node *corev1.Node) bool {
		now := metav1.Now().Rfc3339Copy()
		// What our last write returned may differ from what we wrote (the API server
		// normalizes some fields): it is not a change unless the machine changed.
		written := node.ResourceVersion == st.statusRV && running == (st.statusOf != nil) &&
			(!running || reflect.DeepEqual(*st.statusOf, n))
		changed := !written && !equality.Semantic.DeepEqual(node.Status, nodeStatus(node.Status, n, running, now, false))
		if !changed && !(running && s.heartbeatDue(node.Status, now)) {
			return false
		}
		node.Status = nodeStatus(node.Status, n, running, now, running)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("updating node status: %w", err)
	}
	if res != cur {
		st.statusRV, st.statusOf = res.ResourceVersion, nil
		if running {
			st.statusOf = &n
		}
		s.log.Debug("node status written", "node", n.Name, "running", running)
	}
	return res, nil
}

// heartbeatDue tells whether the Ready condition's heartbeat of status is old enough to
// be refreshed.
func (s *Simulator) heartbeatDue(status corev1.NodeStatus, now metav1.Time) bool {
	i := slices.IndexFunc(status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
	return i < 0 || now.Sub(status.Conditions[i].LastHeartbeatTime.Time) >= heartbeatLeases*s.opts.LeaseInterval
}

// updateNode applies mutate to a copy of cur and writes it (its status with status) if
// mutate tells it changed, retrying on conflicts with a fresh copy. It returns cur itself
// when nothing changed.
func (s *Simulator) updateNode(ctx context.Context, cur *corev1.Node, status bool, mutate func(*corev1.Node) bool) (*corev1.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	nodes := s.client.CoreV1().Nodes()
	for attempt := 1; ; attempt++ {
		node := cur.DeepCopy()
		if !mutate(node) {
			return cur, nil
		}
		var res *corev1.Node
		var err error
		if status {
			res, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		} else {
			res, err = nodes.Update(ctx, node, metav1.UpdateOptions{})
		}
		if err == nil || !apierrors.IsConflict(err) || attempt == 3 {
			return res, err
		}
		if cur, err = nodes.Get(ctx, cur.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
}

// deleteNode deletes node (this one, not one recreated since) and its lease.
func (s *Simulator) deleteNode(ctx context.Context, st *nodeState, node *corev1.Node) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	err := s.client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &node.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting node: %w", err)
	}
	err = s.client.CoordinationV1().Leases(nodeLeaseNamespace).Delete(ctx, node.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting node lease: %w", err)
	}
	st.lease = nil
	s.log.Info("node deleted", "node", node.Name)
	return nil
}

// renewLease renews node's lease (creating it if need be), as the kubelet does.
func (s *Simulator) renewLease(ctx context.Context, st *nodeState, node *corev1.Node) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	leases := s.client.CoordinationV1().Leases(nodeLeaseNamespace)
	lease := st.lease
	if lease == nil {
		got, err := leases.Get(ctx, node.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			got = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: nodeLeaseNamespace}}
		case err != nil:
			return fmt.Errorf("getting node lease: %w", err)
		}
		lease = got
	}
	lease = lease.DeepCopy()
	lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
	lease.Spec.HolderIdentity = new(node.Name)
	lease.Spec.LeaseDurationSeconds = new(int32(leaseDurationSeconds))
	lease.Spec.RenewTime = new(metav1.NowMicro())
	var err error
	if lease.ResourceVersion == "" {
		lease, err = leases.Create(ctx, lease, metav1.CreateOptions{})
	} else {
		lease, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	}
	if err != nil {
		st.lease = nil
		return fmt.Errorf("renewing node lease: %w", err)
	}
	st.lease, st.renewed = lease, time.Now()
	return nil
}
