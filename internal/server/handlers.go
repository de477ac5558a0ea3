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

	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

// Page sizes of a list.
const (
	// DefaultListLimit is the page size of a list that gives no limit.
	DefaultListLimit = 500
	// MaxListLimit caps the limit a client may ask for.
	MaxListLimit = 5000
)

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
	// ResourceVersion is the resourceVersion of the last write the list reflects: watch from
	// it to get the changes that followed.
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// EventList is the body of an events response.
type EventList struct {
	Items []store.Event `json:"items"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, kind string) error {
	if watch, err := watchParam(r); err != nil || watch {
		if err != nil {
			return err
		}
		return s.watch(w, r, kind)
	}
	g := guardOf(r.Context())
	if err := g.allowList(kind); err != nil {
		return err
	}
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
	items := g.visible(res.Items)
	if items == nil {
		items = []v1alpha1.Object{}
	}
	s.writeJSON(w, r, http.StatusOK, List{APIVersion: v1alpha1.GroupVersion, Kind: "List", Items: items, Continue: res.Continue,
		ResourceVersion: strconv.FormatInt(res.ResourceVersion, 10)})
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, kind string) error {
	key := r.PathValue("key")
	obj, err := s.store.Get(r.Context(), kind, key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !guardOf(r.Context()).sees(obj)) {
		return notFound(kind, key)
	}
	if err != nil {
		return internal(err, "get %s %q", kind, key)
	}
	s.writeJSON(w, r, http.StatusOK, obj)
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, kind string) error {
	if kind == v1alpha1.KindAPIKey {
		return s.makeAPIKey(w, r, kind) // the server chooses a key's name and secret
	}
	ctx := r.Context()
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	noteDryRun(ctx, dryRun)
	obj, err := s.readObject(w, r, kind)
	if err != nil {
		return err
	}
	clearServerFields(obj)
	v1alpha1.Default(obj)
	noteKey(ctx, obj.Key())
	if err := s.authorizeWrite(ctx, nil, obj); err != nil {
		return err
	}
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
		if refused := writeRefused(obj, err); refused != nil {
			return refused
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
	noteDryRun(ctx, dryRun)
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
	var result string
	var out v1alpha1.Object
	err = retryWrites(ctx, retryBudget, func() (err error) {
		result, out, err = s.applyOnce(ctx, obj, secret, precondition, dryRun)
		return err
	})
	if errors.Is(err, errRetry) {
		return conflict(ReasonConflict, "%s %q kept changing while it was being applied: try again", kind, key)
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

// applyOnce is one read-modify-write of an apply. obj is the decoded, defaulted body; secret is
// the text of the write-only secrets it carried (see v1alpha1.SecretCarrier). Every field of obj
// that it sets is set again on a retry.
func (s *Server) applyOnce(ctx context.Context, obj v1alpha1.Object, secret string, precondition string, dryRun bool) (string, v1alpha1.Object, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		if err := sc.SetSecretText(secret); err != nil { // undo what an earlier attempt merged in
			return "", nil, internal(err, "restore the secrets of %s %q", kind, key)
		}
	}
	old, err := s.store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return s.applyCreate(ctx, obj, precondition, dryRun)
	}
	if err != nil {
		return "", nil, internal(err, "get %s %q", kind, key)
	}
	return s.applyUpdate(ctx, old, obj, precondition, dryRun)
}

// applyCreate is the create of an apply whose object is not stored.
func (s *Server) applyCreate(ctx context.Context, obj v1alpha1.Object, precondition string, dryRun bool) (string, v1alpha1.Object, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	noteVerb(ctx, authz.VerbCreate)
	if kind == v1alpha1.KindAPIKey {
		return "", nil, keyNotApplied(key)
	}
	if precondition != "" {
		return "", nil, conflict(ReasonConflict, "%s %q does not exist, so resourceVersion %s is stale: remove metadata.resourceVersion to create it", kind, key, precondition)
	}
	clearServerFields(obj)
	if err := s.authorizeWrite(ctx, nil, obj); err != nil {
		return "", nil, err
	}
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
		if refused := writeRefused(obj, err); refused != nil {
			return "", nil, refused
		}
		return "", nil, internal(err, "create %s %q", kind, key)
	}
	s.recordEvent(ctx, obj, EventCreated, fmt.Sprintf("%s %q created", kind, key))
	s.recordWarnings(ctx, nil, obj)
	return ApplyCreated, obj, nil
}

// applyUpdate is the update of an apply that replaces old, the stored object, with obj.
func (s *Server) applyUpdate(ctx context.Context, old, obj v1alpha1.Object, precondition string, dryRun bool) (string, v1alpha1.Object, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	noteVerb(ctx, authz.VerbUpdate)
	if err := s.authorizeWrite(ctx, old, obj); err != nil {
		return "", nil, err
	}
	om := old.GetMetadata()
	if om.DeletionTimestamp != nil {
		return "", nil, conflict(ReasonConflict, "%s %q is being deleted: it cannot be changed until its deletion completes", kind, key)
	}
	if precondition != "" && precondition != om.ResourceVersion {
		return "", nil, staleVersion(kind, key, precondition)
	}
	specChanged, secretChanged, err := keepServerFields(old, obj)
	if err != nil {
		return "", nil, internal(err, "compare %s %q with the stored one", kind, key)
	}
	if !specChanged && !secretChanged && maps.Equal(om.Labels, obj.GetMetadata().Labels) {
		s.collectWarnings(ctx, obj)
		return ApplyUnchanged, old, nil
	}
	if store.SpecFrozenInUse(kind) && specChanged {
		// The store refuses it too, in the write's transaction; this answers a dry run and
		// before validation.
		users, err := s.referrers(ctx, kind, key)
		if err != nil {
			return "", nil, err
		}
		if len(users) > 0 {
			return "", nil, profileInUse(kind, key, users)
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
		if refused := writeRefused(obj, err); refused != nil {
			return "", nil, refused
		}
		return "", nil, internal(err, "update %s %q", kind, key)
	}
	if specChanged || secretChanged {
		s.recordEvent(ctx, obj, EventUpdated, fmt.Sprintf("%s %q updated to generation %d", kind, key, obj.GetMetadata().Generation))
	}
	s.recordWarnings(ctx, old, obj)
	return ApplyConfigured, obj, nil
}

// keepServerFields sets on obj what the server owns of old, the stored object (its metadata
// but the labels, its status, and the write-only secrets an update may leave out), and reports
// whether obj's spec and secrets differ from old's.
func keepServerFields(old, obj v1alpha1.Object) (specChanged, secretChanged bool, err error) {
	om, m := old.GetMetadata(), obj.GetMetadata()
	m.UID, m.Generation, m.ResourceVersion = om.UID, om.Generation, om.ResourceVersion
	m.CreationTimestamp, m.DeletionTimestamp, m.Finalizers = om.CreationTimestamp, nil, slices.Clone(om.Finalizers)
	v1alpha1.CopyStatus(obj, old)
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		v1alpha1.KeepStoredSecrets(old, obj) // what the update may leave out keeps its stored value
		sc.SetSecretPresent(sc.SecretText() != "")
		secretChanged = sc.SecretText() != old.(v1alpha1.SecretCarrier).SecretText()
	}
	specChanged, err = specDiffers(old, obj)
	return specChanged, secretChanged, err
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
	var obj v1alpha1.Object
	err := retryWrites(ctx, retryBudget, func() (err error) {
		obj, err = s.deleteOnce(ctx, kind, key)
		return err
	})
	if errors.Is(err, errRetry) {
		return conflict(ReasonConflict, "%s %q kept changing while it was being deleted: try again", kind, key)
	}
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, obj)
	return nil
}

func (s *Server) deleteOnce(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	obj, err := s.store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(kind, key)
	}
	if err != nil {
		return nil, internal(err, "get %s %q", kind, key)
	}
	if err := guardOf(ctx).allow(authz.VerbDelete, obj); err != nil {
		return nil, err
	}
	m := obj.GetMetadata()
	if m.DeletionTimestamp != nil {
		return obj, nil // already requested: it waits for its finalizers
	}
	// The store refuses to mark or delete an object others refer to (InUse).
	now := time.Now().UTC().Truncate(time.Second)
	m.DeletionTimestamp = &now
	if len(m.Finalizers) > 0 {
		// Reconcilers finish the deletion once they have removed their finalizers.
		if err := s.store.Update(ctx, obj); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return nil, errRetry
			}
			if refused := writeRefused(obj, err); refused != nil {
				return nil, refused
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
		if refused := writeRefused(obj, err); refused != nil {
			return nil, refused
		}
		return nil, internal(err, "delete %s %q", kind, key)
	}
	s.deleted(ctx, obj)
	s.recordEvent(ctx, obj, EventDeletionRequested, fmt.Sprintf("deletion of %s %q requested", kind, key))
	s.recordEvent(ctx, obj, EventDeleted, fmt.Sprintf("%s %q deleted", kind, key))
	return obj, nil
}

// events answers the events of the object stored under the key, by its UID; with ?uid=, those
// of the object with that UID, stored or deleted; when nothing is stored under the key, those of
// the last object that was.
func (s *Server) events(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key := r.PathValue("key")
	uid, err := uidParam(r)
	if err != nil {
		return err
	}
	obj, err := s.store.Get(ctx, kind, key)
	switch {
	case err == nil && !guardOf(ctx).sees(obj):
		return notFound(kind, key)
	case err == nil && uid == "":
		uid = obj.GetMetadata().UID
	case errors.Is(err, store.ErrNotFound):
		// A deleted object's tags are gone: its events need get on every object of the kind.
		if err := guardOf(ctx).allowUnscoped(kind, authz.VerbGet); err != nil {
			return notFound(kind, key)
		}
	case err != nil:
		return internal(err, "get %s %q", kind, key)
	}
	evs, err := s.store.ListEvents(ctx, kind, key, uid)
	if err != nil {
		return internal(err, "list the events of %s %q", kind, key)
	}
	if uid == "" {
		if evs = lastObjectEvents(evs); len(evs) == 0 {
			return notFound(kind, key)
		}
	}
	if evs == nil {
		evs = []store.Event{}
	}
	s.writeJSON(w, r, http.StatusOK, EventList{Items: evs})
	return nil
}

// uidParam reads the uid query parameter, a UUID.
func uidParam(r *http.Request) (string, error) {
	v := r.URL.Query().Get("uid")
	if v == "" {
		return "", nil
	}
	if _, err := uuid.Parse(v); err != nil {
		return "", badRequest("invalid uid %q: an object's metadata.uid is a UUID", v)
	}
	return v, nil
}

// lastObjectEvents keeps, of the events of every object that had a key (oldest first), those
// of the object whose event is the newest: the last one stored under the key.
func lastObjectEvents(evs []store.Event) []store.Event {
	if len(evs) == 0 {
		return nil
	}
	uid := evs[len(evs)-1].UID
	var out []store.Event
	for _, ev := range evs {
		if ev.UID == uid {
			out = append(out, ev)
		}
	}
	return out
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
