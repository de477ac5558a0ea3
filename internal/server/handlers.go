package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// Page sizes of a list.
const (
	// DefaultListLimit is the page size of a list that gives no limit.
	DefaultListLimit = 500
	// MaxListLimit caps the limit a client may ask for.
	MaxListLimit = 5000
)

// maxWriteAttempts bounds the read-modify-write retries of an apply or delete that meets a
// concurrent write.
const maxWriteAttempts = 5

// The apply results sent in the ApplyResultHeader.
const (
	ApplyCreated    = "created"
	ApplyConfigured = "configured"
	ApplyUnchanged  = "unchanged"
)

// Event reasons.
const (
	EventCreated           = "Created"
	EventUpdated           = "Updated"
	EventDeletionRequested = "DeletionRequested"
	EventDeleted           = "Deleted"
)

// List is the body of a list response.
type List struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []v1alpha1.Object `json:"items"`
	// Continue is set when more objects follow: pass it as the continue query parameter.
	Continue string `json:"continue,omitempty"`
}

// EventList is the body of an events response.
type EventList struct {
	Items []store.Event `json:"items"`
}

// errRetry makes a read-modify-write start again after a concurrent write.
var errRetry = errors.New("concurrent write: retry")

func (s *Server) list(w http.ResponseWriter, r *http.Request, kind string) error {
	q := r.URL.Query()
	opts := store.ListOptions{Name: q.Get("name"), Continue: q.Get("continue"), Limit: DefaultListLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("invalid limit %q: use a positive number", v)
		}
		if n > 0 {
			opts.Limit = min(n, MaxListLimit)
		}
	}
	res, err := s.store.List(r.Context(), kind, opts)
	if err != nil {
		return internal(err, "list %s", v1alpha1.Plural(kind))
	}
	items := res.Items
	if items == nil {
		items = []v1alpha1.Object{}
	}
	s.writeJSON(w, r, http.StatusOK, List{APIVersion: v1alpha1.GroupVersion, Kind: "List", Items: items, Continue: res.Continue})
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, kind string) error {
	key := r.PathValue("key")
	obj, err := s.store.Get(r.Context(), kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(kind, key)
	}
	if err != nil {
		return internal(err, "get %s %q", kind, key)
	}
	s.writeJSON(w, r, http.StatusOK, obj)
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	obj, err := s.readObject(w, r, kind)
	if err != nil {
		return err
	}
	clearServerFields(obj)
	v1alpha1.Default(obj)
	if err := s.validate(ctx, nil, obj); err != nil {
		return err
	}
	if dryRun {
		s.writeJSON(w, r, http.StatusOK, obj)
		return nil
	}
	if err := s.store.Create(ctx, obj); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return conflict(ReasonAlreadyExists, "%s %q already exists", kind, obj.Key())
		}
		return internal(err, "create %s %q", kind, obj.Key())
	}
	s.recordEvent(ctx, obj, EventCreated, fmt.Sprintf("%s %q created", kind, obj.Key()))
	s.recordWarnings(ctx, nil, obj)
	s.writeJSON(w, r, http.StatusCreated, obj)
	return nil
}

// apply creates the object at the path's key or replaces the stored one.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key := r.PathValue("key")
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	obj, err := s.readObject(w, r, kind)
	if err != nil {
		return err
	}
	precondition := obj.GetMetadata().ResourceVersion
	v1alpha1.Default(obj) // applyOnce sets or clears every server-owned field
	if obj.Key() != key {
		return &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest,
			message: fmt.Sprintf("the path names %s %q but the body is %s %q", kind, key, kind, obj.Key()),
			errors:  v1alpha1.ErrorList{{Field: "metadata.name", Rule: v1alpha1.RuleMismatch, Message: fmt.Sprintf("the body's key %q must equal the path's %q", obj.Key(), key)}}}
	}
	secret := ""
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		secret = sc.SecretText()
	}
	for range maxWriteAttempts {
		result, out, err := s.applyOnce(ctx, obj, secret, precondition, dryRun)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return err
		}
		w.Header().Set(ApplyResultHeader, result)
		code := http.StatusOK
		if result == ApplyCreated && !dryRun {
			code = http.StatusCreated
		}
		s.writeJSON(w, r, code, out)
		return nil
	}
	return conflict(ReasonConflict, "%s %q kept changing while it was being applied: try again", kind, key)
}

// applyOnce is one read-modify-write of an apply. obj is the decoded, defaulted body; secret is
// the text of the write-only secrets it carried (see v1alpha1.SecretCarrier). Every field of obj
// that it sets is set again on a retry.
func (s *Server) applyOnce(ctx context.Context, obj v1alpha1.Object, secret string, precondition string, dryRun bool) (string, v1alpha1.Object, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	sc, hasSecret := obj.(v1alpha1.SecretCarrier)
	if hasSecret {
		if err := sc.SetSecretText(secret); err != nil { // undo what an earlier attempt merged in
			return "", nil, internal(err, "restore the secrets of %s %q", kind, key)
		}
	}
	old, err := s.store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		if precondition != "" {
			return "", nil, conflict(ReasonConflict, "%s %q does not exist, so resourceVersion %s is stale: remove metadata.resourceVersion to create it", kind, key, precondition)
		}
		clearServerFields(obj)
		if err := s.validate(ctx, nil, obj); err != nil {
			return "", nil, err
		}
		if dryRun {
			return ApplyCreated, obj, nil
		}
		if err := s.store.Create(ctx, obj); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return "", nil, errRetry
			}
			return "", nil, internal(err, "create %s %q", kind, key)
		}
		s.recordEvent(ctx, obj, EventCreated, fmt.Sprintf("%s %q created", kind, key))
		s.recordWarnings(ctx, nil, obj)
		return ApplyCreated, obj, nil
	}
	if err != nil {
		return "", nil, internal(err, "get %s %q", kind, key)
	}
	om := old.GetMetadata()
	if om.DeletionTimestamp != nil {
		return "", nil, conflict(ReasonConflict, "%s %q is being deleted: it cannot be changed until its deletion completes", kind, key)
	}
	if precondition != "" && precondition != om.ResourceVersion {
		return "", nil, staleVersion(kind, key, precondition)
	}

	// The server owns these fields: keep the stored ones.
	m := obj.GetMetadata()
	m.UID, m.Generation, m.ResourceVersion = om.UID, om.Generation, om.ResourceVersion
	m.CreationTimestamp, m.DeletionTimestamp, m.Finalizers = om.CreationTimestamp, nil, slices.Clone(om.Finalizers)
	v1alpha1.CopyStatus(obj, old)
	secretChanged := false
	if hasSecret {
		v1alpha1.KeepStoredSecrets(old, obj) // what the update may leave out keeps its stored value
		sc.SetSecretPresent(sc.SecretText() != "")
		secretChanged = sc.SecretText() != old.(v1alpha1.SecretCarrier).SecretText()
	}
	specChanged, err := specDiffers(old, obj)
	if err != nil {
		return "", nil, internal(err, "compare %s %q with the stored one", kind, key)
	}
	if !specChanged && !secretChanged && maps.Equal(om.Labels, m.Labels) {
		s.collectWarnings(ctx, obj)
		return ApplyUnchanged, old, nil
	}
	if kind == v1alpha1.KindClusterProfile && specChanged {
		users, err := s.referrers(ctx, kind, key)
		if err != nil {
			return "", nil, err
		}
		if len(users) > 0 {
			return "", nil, conflict(ReasonInUse, "%s %q is pinned by %s: the spec of a profile version in use cannot change; publish a new version (a new spec.version) and move the clusters to it", kind, key, describe(users))
		}
	}
	if err := s.validate(ctx, old, obj); err != nil {
		return "", nil, err
	}
	if dryRun {
		return ApplyConfigured, obj, nil
	}
	if err := s.store.Update(ctx, obj); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict) && precondition != "":
			return "", nil, staleVersion(kind, key, precondition)
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			return "", nil, errRetry
		}
		return "", nil, internal(err, "update %s %q", kind, key)
	}
	if specChanged || secretChanged {
		s.recordEvent(ctx, obj, EventUpdated, fmt.Sprintf("%s %q updated to generation %d", kind, key, obj.GetMetadata().Generation))
	}
	s.recordWarnings(ctx, old, obj)
	return ApplyConfigured, obj, nil
}

func staleVersion(kind, key, rv string) *apiError {
	return conflict(ReasonConflict, "%s %q has been modified since resourceVersion %s: get it again, reapply your changes and retry", kind, key, rv)
}

// specDiffers reports whether the specs of two objects encode differently.
func specDiffers(a, b v1alpha1.Object) (bool, error) {
	sa, err := specJSON(a)
	if err != nil {
		return false, err
	}
	sb, err := specJSON(b)
	if err != nil {
		return false, err
	}
	return !bytes.Equal(sa, sb), nil
}

func specJSON(obj v1alpha1.Object) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %q: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	var doc struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("extract the spec of %s %q: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	return doc.Spec, nil
}

// delete marks the object as being deleted and, when it has no finalizers, removes it.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key := r.PathValue("key")
	for range maxWriteAttempts {
		obj, err := s.deleteOnce(ctx, kind, key)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, obj)
		return nil
	}
	return conflict(ReasonConflict, "%s %q kept changing while it was being deleted: try again", kind, key)
}

func (s *Server) deleteOnce(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	obj, err := s.store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(kind, key)
	}
	if err != nil {
		return nil, internal(err, "get %s %q", kind, key)
	}
	m := obj.GetMetadata()
	if m.DeletionTimestamp != nil {
		return obj, nil // already requested: it waits for its finalizers
	}
	users, err := s.referrers(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, conflict(ReasonInUse, "%s %q is in use by %s: delete them or change their references first", kind, key, describe(users))
	}
	now := time.Now().UTC().Truncate(time.Second)
	m.DeletionTimestamp = &now
	if len(m.Finalizers) > 0 {
		// Reconcilers finish the deletion once they have removed their finalizers.
		if err := s.store.Update(ctx, obj); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return nil, errRetry
			}
			return nil, internal(err, "mark %s %q as being deleted", kind, key)
		}
		s.recordEvent(ctx, obj, EventDeletionRequested, fmt.Sprintf("deletion of %s %q requested: waiting for finalizers %s", kind, key, strings.Join(m.Finalizers, ", ")))
		return obj, nil
	}
	// Without finalizers the object goes at once. The resourceVersion precondition makes the
	// delete fail if a finalizer (or anything else) was added since it was read.
	if err := s.store.Delete(ctx, kind, key, m.ResourceVersion); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return nil, errRetry
		}
		return nil, internal(err, "delete %s %q", kind, key)
	}
	s.recordEvent(ctx, obj, EventDeletionRequested, fmt.Sprintf("deletion of %s %q requested", kind, key))
	s.recordEvent(ctx, obj, EventDeleted, fmt.Sprintf("%s %q deleted", kind, key))
	return obj, nil
}

// referrerKinds lists, for each kind, the kinds whose objects can refer to it (see
// v1alpha1.References).
var referrerKinds = map[string][]string{
	v1alpha1.KindPrivateCloudGateway: {v1alpha1.KindCloudAccount},
	v1alpha1.KindCloudAccount:        {v1alpha1.KindCluster},
	v1alpha1.KindClusterProfile:      {v1alpha1.KindCluster},
}

// referrers returns the objects that refer to kind/key, as `Kind "key"` strings.
func (s *Server) referrers(ctx context.Context, kind, key string) ([]string, error) {
	var users []string
	for _, rk := range referrerKinds[kind] {
		opts := store.ListOptions{Limit: 1000}
		for {
			page, err := s.store.List(ctx, rk, opts)
			if err != nil {
				return nil, internal(err, "list %s to find the users of %s %q", v1alpha1.Plural(rk), kind, key)
			}
			for _, o := range page.Items {
				if slices.Contains(v1alpha1.References(o), v1alpha1.Ref{Kind: kind, Key: key}) {
					users = append(users, fmt.Sprintf("%s %q", rk, o.Key()))
				}
			}
			if page.Continue == "" {
				break
			}
			opts.Continue = page.Continue
		}
	}
	return users, nil
}

// describe lists at most ten names.
func describe(names []string) string {
	const shown = 10
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key := r.PathValue("key")
	evs, err := s.store.ListEvents(ctx, kind, key)
	if err != nil {
		return internal(err, "list the events of %s %q", kind, key)
	}
	if len(evs) == 0 {
		// No events: tell a missing object apart from a quiet one.
		if _, err := s.store.Get(ctx, kind, key); errors.Is(err, store.ErrNotFound) {
			return notFound(kind, key)
		} else if err != nil {
			return internal(err, "get %s %q", kind, key)
		}
		evs = []store.Event{}
	}
	s.writeJSON(w, r, http.StatusOK, EventList{Items: evs})
	return nil
}

// recordEvent appends a Normal event.
func (s *Server) recordEvent(ctx context.Context, obj v1alpha1.Object, reason, message string) {
	s.recordEventType(ctx, obj, store.EventNormal, reason, message)
}

// recordEventType appends an event of a type. It runs even when the client has gone, since the
// write it records is done; a failure is logged, not returned. Messages never hold a secret.
func (s *Server) recordEventType(ctx context.Context, obj v1alpha1.Object, evType, reason, message string) {
	ev := store.Event{
		Kind:    obj.GetTypeMeta().Kind,
		Key:     obj.Key(),
		UID:     obj.GetMetadata().UID,
		Type:    evType,
		Reason:  reason,
		Message: message,
		Time:    time.Now().UTC(),
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.RecordEvent(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "record event", "kind", ev.Kind, "key", ev.Key, "reason", reason, "error", err)
	}
}
