package gatewayserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/gatewaywire"
	"github.com/strata-dev/strata/internal/store"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// authorize resolves the target of a call and decides it; a refusal is PermissionDenied, and
// an object the gateway may not see is NotFound, as if absent.
func (s *Server) authorize(ctx context.Context, r request) (string, error) {
	id, err := s.caller(ctx)
	if err != nil {
		return "", err
	}
	if err := decide(id.Name, r); err != nil {
		if r.op == opGet && (r.kind == v1alpha1.KindCluster || r.kind == v1alpha1.KindCloudAccount) {
			return "", status.Errorf(codes.NotFound, "%s %q: %v", r.kind, r.key, store.ErrNotFound)
		}
		s.log.Warn("gateway call refused", "gateway", id.Name, "op", r.op, "kind", r.kind, "key", r.key, "reason", err)
		return "", status.Error(codes.PermissionDenied, err.Error())
	}
	return id.Name, nil
}

// owner is the gateway an object belongs to, and whether it is being deleted.
func (s *Server) owner(ctx context.Context, obj v1alpha1.Object) (string, error) {
	switch o := obj.(type) {
	case *v1alpha1.Cluster:
		return s.accountGateway(ctx, o.Spec.CloudAccount)
	case *v1alpha1.CloudAccount:
		return o.Spec.Gateway, nil
	case *v1alpha1.PrivateCloudGateway:
		return o.Metadata.Name, nil
	}
	return "", nil
}

func (s *Server) accountGateway(ctx context.Context, account string) (string, error) {
	obj, err := s.cfg.Store.Get(ctx, v1alpha1.KindCloudAccount, account)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if a, ok := obj.(*v1alpha1.CloudAccount); ok {
		return a.Spec.Gateway, nil
	}
	return "", nil
}

// target reads the stored object kind/key and resolves its owner; absent, it has none.
func (s *Server) target(ctx context.Context, op, kind, key string) (request, v1alpha1.Object, error) {
	r := request{op: op, kind: kind, key: key}
	if kind == v1alpha1.KindClusterProfile {
		return r, nil, nil
	}
	obj, err := s.cfg.Store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, nil
	}
	if err != nil {
		return r, nil, status.Error(codes.Unavailable, err.Error())
	}
	r.deleting = obj.GetMetadata().DeletionTimestamp != nil
	if r.owner, err = s.owner(ctx, obj); err != nil {
		return r, nil, status.Error(codes.Unavailable, err.Error())
	}
	return r, obj, nil
}

// Get returns an object the gateway may read, a cloud account with its client secret.
func (s *Server) Get(ctx context.Context, req *gatewayv1.GetRequest) (*gatewayv1.GetResponse, error) {
	r, _, err := s.target(ctx, opGet, req.GetKind(), req.GetKey())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r); err != nil {
		return nil, err
	}
	obj, err := s.cfg.Store.Get(ctx, req.GetKind(), req.GetKey())
	if err != nil {
		return nil, gatewaywire.ToStatus(err)
	}
	m, err := gatewaywire.EncodeObject(obj, true)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &gatewayv1.GetResponse{Object: m}, nil
}

// List returns a page of objects, keeping the clusters and accounts of the calling gateway
// only (secrets are not listed: Get an account for its secret).
func (s *Server) List(ctx context.Context, req *gatewayv1.ListRequest) (*gatewayv1.ListResponse, error) {
	gw, err := s.authorize(ctx, request{op: opList, kind: req.GetKind()})
	if err != nil {
		return nil, err
	}
	page, err := s.cfg.Store.List(ctx, req.GetKind(), store.ListOptions{Name: req.GetName(), Limit: int(req.GetLimit()), Continue: req.GetContinue()})
	if err != nil {
		return nil, gatewaywire.ToStatus(err)
	}
	out := &gatewayv1.ListResponse{Continue: page.Continue, ResourceVersion: page.ResourceVersion}
	gatewayOf := map[string]string{} // account → gateway: one read per account, not per cluster
	for _, obj := range page.Items {
		if req.GetKind() != v1alpha1.KindClusterProfile && !s.ownedBy(ctx, obj, gw, gatewayOf) {
			continue
		}
		m, err := gatewaywire.EncodeObject(obj, false)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		out.Items = append(out.Items, m)
	}
	return out, nil
}

// ownedBy reports whether obj belongs to gateway gw, reading each cluster's account once per
// call through gatewayOf.
func (s *Server) ownedBy(ctx context.Context, obj v1alpha1.Object, gw string, gatewayOf map[string]string) bool {
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		owner, err := s.owner(ctx, obj)
		return err == nil && owner == gw
	}
	owner, seen := gatewayOf[cl.Spec.CloudAccount]
	if !seen {
		var err error
		if owner, err = s.accountGateway(ctx, cl.Spec.CloudAccount); err != nil {
			return false
		}
		gatewayOf[cl.Spec.CloudAccount] = owner
	}
	return owner == gw
}

// Update writes the status and finalizers of an object of the calling gateway's; whatever else
// the message holds is ignored (a gateway never changes a spec, tags or labels).
func (s *Server) Update(ctx context.Context, req *gatewayv1.UpdateRequest) (*gatewayv1.UpdateResponse, error) {
	in, err := gatewaywire.DecodeObject(req.GetObject())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	r, stored, err := s.target(ctx, opUpdate, req.GetObject().GetKind(), in.Key())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r); err != nil {
		return nil, err
	}
	if stored == nil {
		return nil, gatewaywire.ToStatus(fmt.Errorf("%s %q: %w", r.kind, r.key, store.ErrNotFound))
	}
	next, err := statusOnly(stored, in)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.cfg.Store.Update(ctx, next); err != nil {
		return nil, gatewaywire.ToStatus(err)
	}
	m, err := gatewaywire.EncodeObject(next, false)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &gatewayv1.UpdateResponse{Object: m}, nil
}

// statusOnly is stored with in's status, finalizers and resourceVersion.
func statusOnly(stored, in v1alpha1.Object) (v1alpha1.Object, error) {
	var doc, from map[string]any
	b, err := json.Marshal(stored)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if b, err = json.Marshal(in); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &from); err != nil {
		return nil, err
	}
	doc["status"] = from["status"]
	meta, _ := doc["metadata"].(map[string]any)
	inMeta, _ := from["metadata"].(map[string]any)
	if meta == nil || inMeta == nil {
		return nil, errors.New("the object has no metadata")
	}
	meta["finalizers"], meta["resourceVersion"] = inMeta["finalizers"], inMeta["resourceVersion"]
	if b, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	next := v1alpha1.New(stored.GetTypeMeta().Kind)
	return next, json.Unmarshal(b, next)
}

// Delete removes a cluster of the calling gateway's that is marked for deletion.
func (s *Server) Delete(ctx context.Context, req *gatewayv1.DeleteRequest) (*gatewayv1.DeleteResponse, error) {
	r, _, err := s.target(ctx, opDelete, req.GetKind(), req.GetKey())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r); err != nil {
		return nil, err
	}
	return &gatewayv1.DeleteResponse{}, gatewaywire.ToStatus(s.cfg.Store.Delete(ctx, req.GetKind(), req.GetKey(), req.GetResourceVersion()))
}

// RecordEvent records an event about an object of the calling gateway's.
func (s *Server) RecordEvent(ctx context.Context, req *gatewayv1.RecordEventRequest) (*gatewayv1.RecordEventResponse, error) {
	ev := req.GetEvent()
	r, _, err := s.target(ctx, opEvent, ev.GetKind(), ev.GetKey())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r); err != nil {
		return nil, err
	}
	t := time.Now()
	if ev.GetTime() != nil {
		t = ev.GetTime().AsTime()
	}
	err = s.cfg.Store.RecordEvent(ctx, store.Event{Kind: ev.GetKind(), Key: ev.GetKey(), UID: ev.GetUid(), Type: ev.GetType(),
		Reason: ev.GetReason(), Message: ev.GetMessage(), Time: t})
	return &gatewayv1.RecordEventResponse{}, gatewaywire.ToStatus(err)
}

func errorsIsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
