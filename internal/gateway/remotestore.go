// Package gateway is the private cloud gateway's process: it registers with the server,
// holds its stream, and runs strata's controller for the cloud accounts bound to it, over a
// RemoteStore: the server's store reached through the gateway protocol.
package gateway

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/gatewaywire"
	"github.com/strata-dev/strata/internal/store"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// RemoteStore is the controller's Store over the server's StoreService. Its errors match the
// store's (errors.Is(err, store.ErrNotFound), ErrConflict ...), as the local store's do.
type RemoteStore struct {
	c gatewayv1.StoreServiceClient
}

// NewRemoteStore returns the store served on cc.
func NewRemoteStore(cc grpc.ClientConnInterface) *RemoteStore {
	return &RemoteStore{c: gatewayv1.NewStoreServiceClient(cc)}
}

// Get returns an object, a cloud account with its client secret.
func (r *RemoteStore) Get(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	resp, err := r.c.Get(ctx, &gatewayv1.GetRequest{Kind: kind, Key: key})
	if err != nil {
		return nil, gatewaywire.FromStatus(err)
	}
	return gatewaywire.DecodeObject(resp.GetObject())
}

// List returns a page of the objects of a kind the gateway may see.
func (r *RemoteStore) List(ctx context.Context, kind string, opts store.ListOptions) (store.ListResult, error) {
	resp, err := r.c.List(ctx, &gatewayv1.ListRequest{Kind: kind, Name: opts.Name, Limit: int32(opts.Limit), Continue: opts.Continue})
	if err != nil {
		return store.ListResult{}, gatewaywire.FromStatus(err)
	}
	out := store.ListResult{Continue: resp.GetContinue(), ResourceVersion: resp.GetResourceVersion()}
	for _, m := range resp.GetItems() {
		obj, err := gatewaywire.DecodeObject(m)
		if err != nil {
			return store.ListResult{}, err
		}
		out.Items = append(out.Items, obj)
	}
	return out, nil
}

// Update writes obj's status and finalizers, and sets its new resourceVersion and
// generation on obj, as the local store does.
func (r *RemoteStore) Update(ctx context.Context, obj v1alpha1.Object) error {
	m, err := gatewaywire.EncodeObject(obj, false)
	if err != nil {
		return err
	}
	resp, err := r.c.Update(ctx, &gatewayv1.UpdateRequest{Object: m})
	if err != nil {
		return gatewaywire.FromStatus(err)
	}
	stored, err := gatewaywire.DecodeObject(resp.GetObject())
	if err != nil {
		return err
	}
	meta, got := obj.GetMetadata(), stored.GetMetadata()
	meta.ResourceVersion, meta.Generation = got.ResourceVersion, got.Generation
	return nil
}

// Delete removes an object marked for deletion.
func (r *RemoteStore) Delete(ctx context.Context, kind, key, resourceVersion string) error {
	_, err := r.c.Delete(ctx, &gatewayv1.DeleteRequest{Kind: kind, Key: key, ResourceVersion: resourceVersion})
	return gatewaywire.FromStatus(err)
}

// RecordEvent records an event.
func (r *RemoteStore) RecordEvent(ctx context.Context, ev store.Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	m := gatewaywire.EncodeEvent(ev)
	m.Time = timestamppb.New(ev.Time)
	_, err := r.c.RecordEvent(ctx, &gatewayv1.RecordEventRequest{Event: m})
	return gatewaywire.FromStatus(err)
}

// AcquireLease takes or renews a lease.
func (r *RemoteStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	resp, err := r.c.AcquireLease(ctx, &gatewayv1.AcquireLeaseRequest{Name: name, Holder: holder, TtlMillis: ttl.Milliseconds()})
	if err != nil {
		return false, gatewaywire.FromStatus(err)
	}
	return resp.GetHeld(), nil
}

// ReleaseLease gives a lease up.
func (r *RemoteStore) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := r.c.ReleaseLease(ctx, &gatewayv1.ReleaseLeaseRequest{Name: name, Holder: holder})
	return gatewaywire.FromStatus(err)
}

// PutSecret stores a secret of one of the gateway's clusters.
func (r *RemoteStore) PutSecret(ctx context.Context, name string, plaintext []byte) error {
	_, err := r.c.PutSecret(ctx, &gatewayv1.PutSecretRequest{Name: name, Plaintext: plaintext})
	return gatewaywire.FromStatus(err)
}

// GetSecret returns a secret of one of the gateway's clusters.
func (r *RemoteStore) GetSecret(ctx context.Context, name string) ([]byte, error) {
	resp, err := r.c.GetSecret(ctx, &gatewayv1.GetSecretRequest{Name: name})
	if err != nil {
		return nil, gatewaywire.FromStatus(err)
	}
	return resp.GetPlaintext(), nil
}

// DeleteSecret removes a secret.
func (r *RemoteStore) DeleteSecret(ctx context.Context, name string) error {
	_, err := r.c.DeleteSecret(ctx, &gatewayv1.DeleteSecretRequest{Name: name})
	if err != nil {
		return fmt.Errorf("delete secret: %w", gatewaywire.FromStatus(err))
	}
	return nil
}
