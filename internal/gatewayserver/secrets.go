package gatewayserver

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/gatewaywire"
	"github.com/strata-dev/strata/internal/store"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// clusterByUID is the stored cluster with uid, or nil.
func (s *Server) clusterByUID(ctx context.Context, uid string) (*v1alpha1.Cluster, error) {
	var opts store.ListOptions
	for {
		page, err := s.cfg.Store.List(ctx, v1alpha1.KindCluster, opts)
		if err != nil {
			return nil, err
		}
		for _, obj := range page.Items {
			if cl, ok := obj.(*v1alpha1.Cluster); ok && cl.Metadata.UID == uid {
				return cl, nil
			}
		}
		if page.Continue == "" {
			return nil, nil
		}
		opts.Continue = page.Continue
	}
}

// secretRequest resolves the cluster a secret belongs to.
func (s *Server) secretRequest(ctx context.Context, name string) (request, error) {
	r := request{op: opSecret, kind: v1alpha1.KindCluster, key: name}
	uid, ok := secretTarget(name)
	if !ok {
		return r, nil
	}
	cl, err := s.clusterByUID(ctx, uid)
	if err != nil {
		return r, status.Error(codes.Unavailable, err.Error())
	}
	if cl != nil {
		r.owner, err = s.accountGateway(ctx, cl.Spec.CloudAccount)
	}
	return r, gatewaywire.ToStatus(err)
}

// leaseRequest resolves the object a lease belongs to.
func (s *Server) leaseRequest(ctx context.Context, name string) (request, error) {
	kind, key, byUID, ok := leaseTarget(name)
	r := request{op: opLease, kind: kind, key: name}
	if !ok {
		return r, nil
	}
	if byUID {
		cl, err := s.clusterByUID(ctx, key)
		if err != nil || cl == nil {
			return r, gatewaywire.ToStatus(err)
		}
		key = cl.Metadata.Name
	}
	t, _, err := s.target(ctx, opLease, kind, key)
	r.owner = t.owner
	return r, err
}

// AcquireLease takes or renews a lease of the calling gateway's clusters or accounts.
func (s *Server) AcquireLease(ctx context.Context, req *gatewayv1.AcquireLeaseRequest) (*gatewayv1.AcquireLeaseResponse, error) {
	r, err := s.leaseRequest(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r); err != nil {
		return nil, err
	}
	held, err := s.cfg.Store.AcquireLease(ctx, req.GetName(), req.GetHolder(), time.Duration(req.GetTtlMillis())*time.Millisecond)
	return &gatewayv1.AcquireLeaseResponse{Held: held}, gatewaywire.ToStatus(err)
}

// ReleaseLease gives up a lease of the calling gateway's.
func (s *Server) ReleaseLease(ctx context.Context, req *gatewayv1.ReleaseLeaseRequest) (*gatewayv1.ReleaseLeaseResponse, error) {
	r, err := s.leaseRequest(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, r); err != nil {
		return nil, err
	}
	return &gatewayv1.ReleaseLeaseResponse{}, gatewaywire.ToStatus(s.cfg.Store.ReleaseLease(ctx, req.GetName(), req.GetHolder()))
}

// PutSecret stores a secret of the calling gateway's clusters.
func (s *Server) PutSecret(ctx context.Context, req *gatewayv1.PutSecretRequest) (*gatewayv1.PutSecretResponse, error) {
	if err := s.authorizeSecret(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &gatewayv1.PutSecretResponse{}, gatewaywire.ToStatus(s.cfg.Store.PutSecret(ctx, req.GetName(), req.GetPlaintext()))
}

// GetSecret returns a secret of the calling gateway's clusters.
func (s *Server) GetSecret(ctx context.Context, req *gatewayv1.GetSecretRequest) (*gatewayv1.GetSecretResponse, error) {
	if err := s.authorizeSecret(ctx, req.GetName()); err != nil {
		return nil, err
	}
	b, err := s.cfg.Store.GetSecret(ctx, req.GetName())
	if err != nil {
		return nil, gatewaywire.ToStatus(err)
	}
	return &gatewayv1.GetSecretResponse{Plaintext: b}, nil
}

// DeleteSecret removes a secret of the calling gateway's clusters.
func (s *Server) DeleteSecret(ctx context.Context, req *gatewayv1.DeleteSecretRequest) (*gatewayv1.DeleteSecretResponse, error) {
	if err := s.authorizeSecret(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &gatewayv1.DeleteSecretResponse{}, gatewaywire.ToStatus(s.cfg.Store.DeleteSecret(ctx, req.GetName()))
}

func (s *Server) authorizeSecret(ctx context.Context, name string) error {
	r, err := s.secretRequest(ctx, name)
	if err != nil {
		return err
	}
	_, err = s.authorize(ctx, r)
	return err
}
