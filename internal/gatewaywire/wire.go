// Package gatewaywire is what both ends of the gateway protocol (proto/strata/gateway/v1)
// share: objects as they travel, and the store's errors as gRPC status codes and back.
package gatewaywire

import (
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// EncodeObject turns obj into its message: the JSON (which never holds a secret) and, when
// withSecret is set and the kind carries one, the secret's text.
func EncodeObject(obj v1alpha1.Object, withSecret bool) (*gatewayv1.Object, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	m := &gatewayv1.Object{Kind: obj.GetTypeMeta().Kind, Json: b}
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok && withSecret {
		m.Secret = sc.SecretText()
	}
	return m, nil
}

// DecodeObject rebuilds the object of a message, with its secret when it carries one.
func DecodeObject(m *gatewayv1.Object) (v1alpha1.Object, error) {
	obj := v1alpha1.New(m.GetKind())
	if obj == nil {
		return nil, fmt.Errorf("decode: unknown kind %q", m.GetKind())
	}
	if err := json.Unmarshal(m.GetJson(), obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", m.GetKind(), err)
	}
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok && m.GetSecret() != "" {
		if err := sc.SetSecretText(m.GetSecret()); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", m.GetKind(), obj.Key(), err)
		}
	}
	return obj, nil
}

// Store errors travel as these codes; the message is the error's text.
var errCodes = []struct {
	err  error
	code codes.Code
}{
	{store.ErrNotFound, codes.NotFound},
	{store.ErrConflict, codes.Aborted},
	{store.ErrAlreadyExists, codes.AlreadyExists},
	{store.ErrInUse, codes.FailedPrecondition},
	{store.ErrBrokenReference, codes.OutOfRange},
}

// ToStatus is the gRPC status of a store error; other errors are Unavailable (the store
// could not answer).
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, e := range errCodes {
		if errors.Is(err, e.err) {
			return status.Error(e.code, err.Error())
		}
	}
	return status.Error(codes.Unavailable, err.Error())
}

// FromStatus is the store error of a gRPC status: errors.Is(err, store.ErrNotFound) and the
// others hold as they did on the server.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, e := range errCodes {
		if st.Code() == e.code {
			return &Error{sentinel: e.err, msg: st.Message()}
		}
	}
	return err
}

// Error is a store error that came over the wire.
type Error struct {
	sentinel error
	msg      string
}

// Error is the server's text.
func (e *Error) Error() string { return e.msg }

// Is makes errors.Is match the store's sentinel error.
func (e *Error) Is(target error) bool { return target == e.sentinel }

// EncodeEvent is the message of a store event.
func EncodeEvent(ev store.Event) *gatewayv1.Event {
	return &gatewayv1.Event{Kind: ev.Kind, Key: ev.Key, Uid: ev.UID, Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
		Time: timestamppb.New(ev.Time)}
}
