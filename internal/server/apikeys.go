package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

// API keys are objects of kind APIKey, named by their id, which only this file makes: the
// secret of a key is shown once, in the answer of its creation, and only the hash of the secret
// is kept, in the store's sealed secret apiKeySecretName(id), never in the object, a log line
// or an event.

// MaxAPIKeyLifetime is the longest a new API key may live: its expiry is at most this far
// from its creation.
var MaxAPIKeyLifetime = apikey.DefaultMaxLifetime

// EventAPIKeyCreated is the reason of the event that records a key's creation. Its message
// names the user and the expiry, never the token.
const EventAPIKeyCreated = "APIKeyCreated"

// apiKeyUseInterval is how often a key's status.lastUsed is written at most.
const apiKeyUseInterval = time.Minute

// ErrUserDisabled is keyPrincipal's error for a valid key whose user is disabled.
var ErrUserDisabled = errors.New("the API key's user is disabled")

// apiKeySecretName is the name of the store secret that holds the hex SHA-256 of the secret of
// the key with id.
func apiKeySecretName(id string) string { return "apikey/" + id }

// APIKeyCreated is the answer of POST /apikeys: the key as stored, and its token, shown this
// once.
type APIKeyCreated struct {
	APIKey *v1alpha1.APIKey `json:"apiKey"`
	// Token is "strata_<id>_<secret>"; empty in the answer of a dry run.
	Token string `json:"token,omitempty"`
}

// createAPIKey serves POST /api/v1alpha1/apikeys, as the generic create does for that path
// too (see makeAPIKey).
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	r.SetPathValue("plural", v1alpha1.Plural(v1alpha1.KindAPIKey))
	s.api(authz.VerbCreate, s.makeAPIKey)(w, r)
}

// makeAPIKey makes a key: the body is an APIKey without a name, whose apiVersion and kind may
// be left out, e.g. {"spec": {"user": "alice", "expiresAt": "2026-06-01T00:00:00Z"}}. The
// server chooses the id and the secret, checks the expiry against MaxAPIKeyLifetime, stores
// the hash of the secret (sealed) and the object, and answers 201 with both the object and the
// token, never to be shown again. ?dryRun=true validates and answers 200 without a token.
func (s *Server) makeAPIKey(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	noteDryRun(ctx, dryRun)
	if err := fillKeyRequest(w, r); err != nil {
		return err
	}
	obj, err := s.readObject(w, r, kind)
	if err != nil {
		return err
	}
	k := obj.(*v1alpha1.APIKey)
	if k.Metadata.Name != "" {
		return &apiError{code: http.StatusUnprocessableEntity, reason: ReasonInvalid,
			message: fmt.Sprintf("APIKey %q is invalid: 1 error", k.Metadata.Name),
			errors: v1alpha1.ErrorList{{Field: "metadata.name", Rule: v1alpha1.RuleForbidden,
				Message: "the server names a key by the id it makes: leave metadata.name out"}}}
	}
	now := time.Now()
	token, rec, err := apikey.New(nil, k.Spec.ExpiresAt)
	if err != nil {
		return internal(err, "make an API key")
	}
	clearServerFields(k)
	k.Metadata.Name = rec.ID
	noteKey(ctx, rec.ID)
	v1alpha1.Default(k)
	if err := s.authorizeWrite(ctx, nil, k); err != nil {
		return err
	}
	if err := s.checkNewKey(ctx, k, now); err != nil {
		return err
	}
	if dryRun {
		s.writeJSON(w, r, http.StatusOK, APIKeyCreated{APIKey: k})
		return nil
	}
	// The hash goes first: a key is never stored without it.
	if err := s.store.PutSecret(ctx, apiKeySecretName(rec.ID), []byte(rec.Hash)); err != nil {
		return internal(err, "store the hash of API key %q", rec.ID)
	}
	if err := s.store.Create(ctx, k); err != nil {
		s.forgetKeySecret(ctx, rec.ID)
		if errors.Is(err, store.ErrAlreadyExists) {
			return conflict(ReasonAlreadyExists, "APIKey %q already exists: try again, a new key gets a new id", rec.ID)
		}
		if refused := writeRefused(k, err); refused != nil {
			return refused
		}
		return internal(err, "create APIKey %q", rec.ID)
	}
	s.recordEvent(ctx, k, EventAPIKeyCreated, fmt.Sprintf("API key %q created for user %q, expires %s", rec.ID, k.Spec.User,
		k.Spec.ExpiresAt.Format(time.RFC3339)))
	s.log.InfoContext(ctx, "API key created", "id", rec.ID, "user", k.Spec.User, "expires", k.Spec.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusCreated, APIKeyCreated{APIKey: k, Token: token})
	return nil
}

// checkNewKey validates a new key with the store's objects and checks its expiry against
// MaxAPIKeyLifetime from now (apikey.CheckExpiry): one 422 with every error. Its message does
// not name the key, whose id is not the client's.
func (s *Server) checkNewKey(ctx context.Context, k *v1alpha1.APIKey, now time.Time) error {
	var errs v1alpha1.ErrorList
	if at := k.Spec.ExpiresAt; !at.IsZero() && apikey.CheckExpiry(at, now, MaxAPIKeyLifetime) != nil {
		when := at.UTC().Format(time.RFC3339)
		if at.After(now) {
			errs.Add("spec.expiresAt", v1alpha1.RuleRange, "%s is more than %s from now: this server's longest lifetime of a key", when, describeLifetime(MaxAPIKeyLifetime))
		} else {
			errs.Add("spec.expiresAt", v1alpha1.RuleRange, "%s is not in the future", when)
		}
	}
	err := s.validate(ctx, nil, k)
	var ae *apiError
	switch {
	case err == nil && len(errs) == 0:
		return nil
	case err == nil:
	case errors.As(err, &ae) && ae.code == http.StatusUnprocessableEntity:
		errs = append(ae.errors, errs...)
	default:
		return err
	}
	return &apiError{code: http.StatusUnprocessableEntity, reason: ReasonInvalid,
		message: fmt.Sprintf("the API key for user %q is invalid: %s", k.Spec.User, countErrors(len(errs))), errors: errs}
}

// describeLifetime writes d in days when it is whole days ("365 days"), else as a duration.
func describeLifetime(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// fillKeyRequest gives the body of a key's creation the apiVersion and kind of an APIKey when
// it has neither, so that {"spec": {...}} is enough. A body it cannot read as one object is
// left as it is, for readObject to report.
func fillKeyRequest(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{code: http.StatusRequestEntityTooLarge, reason: ReasonTooLarge,
				message: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
		}
		return badRequest("cannot read the request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(withKeyType(body)))
	return nil
}

// withKeyType returns body with apiVersion and kind added when it is one JSON or YAML object
// that gives neither. The body's own text is kept, so that decoding still reports what it
// would (a key given twice, say).
func withKeyType(body []byte) []byte {
	trimmed := bytes.TrimSpace(body)
	lacksType := func(jsonDoc []byte) bool {
		var doc map[string]json.RawMessage
		if json.Unmarshal(jsonDoc, &doc) != nil {
			return false
		}
		_, hasVersion := doc["apiVersion"]
		_, hasKind := doc["kind"]
		return !hasVersion && !hasKind
	}
	typeJSON := `"apiVersion":"` + v1alpha1.GroupVersion + `","kind":"` + v1alpha1.KindAPIKey + `"`
	switch {
	case len(trimmed) == 0:
		return body
	case trimmed[0] == '{':
		if !json.Valid(trimmed) || !lacksType(trimmed) {
			return body
		}
		rest := bytes.TrimSpace(trimmed[1:])
		if rest[0] == '}' {
			return []byte("{" + typeJSON + "}")
		}
		return append([]byte("{"+typeJSON+","), rest...)
	case bytes.HasPrefix(trimmed, []byte("---")) || bytes.Contains(body, []byte("\n---")):
		return body // several documents, or an explicit start: readObject reports what it finds
	}
	jsonDoc, err := yaml.YAMLToJSON(body)
	if err != nil || !lacksType(jsonDoc) {
		return body
	}
	return append([]byte("apiVersion: "+v1alpha1.GroupVersion+"\nkind: "+v1alpha1.KindAPIKey+"\n"), body...)
}

// keyNotApplied is the answer to an apply of a key that does not exist: apply cannot make one.
func keyNotApplied(key string) *apiError {
	return conflict(ReasonConflict, "APIKey %q does not exist, and an apply cannot make one: the server chooses a key's id and secret when it makes it, with POST %s/apikeys (strata apikey create); apply then changes an existing key's description and revoked",
		key, APIPath)
}

// forgetKeySecret removes the hash of the key with id. It runs even when the client has gone;
// a failure is logged, not returned: a hash without its key opens nothing.
func (s *Server) forgetKeySecret(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.DeleteSecret(ctx, apiKeySecretName(id)); err != nil {
		s.log.ErrorContext(ctx, "delete the hash of an API key", "id", id, "error", err)
	}
}

// deleted does what the deletion of obj, now removed from the store, leaves to do: the hash of
// an API key, or of a user's password, goes with it.
func (s *Server) deleted(ctx context.Context, obj v1alpha1.Object) {
	switch obj.GetTypeMeta().Kind {
	case v1alpha1.KindAPIKey:
		s.forgetKeySecret(ctx, obj.Key())
	case v1alpha1.KindUser:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.store.DeleteSecret(ctx, passwordSecretName(obj.Key())); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(ctx, "delete the password hash of a user", "user", obj.Key(), "error", err)
		}
	}
}

// CheckKey authenticates an API key token at now against the store and returns the key. The
// errors say why a key is refused, each fit for a 401 answer, and match with errors.Is:
// apikey.ErrMalformed (not a strata key), apikey.ErrMismatch (no such key, a wrong secret, or
// a user that no longer exists), apikey.ErrExpired, apikey.ErrRevoked and ErrUserDisabled; the
// last three only once the secret matched. Any other error is the store's, which the caller
// should answer as a server failure and not show.
func CheckKey(ctx context.Context, st store.Store, token string, now time.Time) (*v1alpha1.APIKey, error) {
	id, secret, err := apikey.Parse(token)
	if err != nil {
		return nil, err
	}
	if !v1alpha1.IsAPIKeyID(id) {
		return nil, apikey.ErrMismatch
	}
	obj, err := st.Get(ctx, v1alpha1.KindAPIKey, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apikey.ErrMismatch
	}
	if err != nil {
		return nil, fmt.Errorf("look up API key %s: %w", id, err)
	}
	k, ok := obj.(*v1alpha1.APIKey)
	if !ok {
		return nil, fmt.Errorf("look up API key %s: the store returned a %T", id, obj)
	}
	hash, err := st.GetSecret(ctx, apiKeySecretName(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apikey.ErrMismatch
	}
	if err != nil {
		return nil, fmt.Errorf("read the hash of API key %s: %w", id, err)
	}
	rec := apikey.Record{ID: id, Hash: string(hash), Expires: k.Spec.ExpiresAt, Revoked: k.Spec.Revoked}
	switch err := rec.Check(secret, now); {
	case errors.Is(err, apikey.ErrExpired):
		return nil, fmt.Errorf("%w (API key %s, at %s)", err, id, k.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	case errors.Is(err, apikey.ErrRevoked):
		return nil, fmt.Errorf("%w (API key %s)", err, id)
	case err != nil:
		return nil, err
	}
	uobj, err := st.Get(ctx, v1alpha1.KindUser, k.Spec.User)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: its user no longer exists", apikey.ErrMismatch)
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %q of API key %s: %w", k.Spec.User, id, err)
	}
	if u, ok := uobj.(*v1alpha1.User); !ok || u.Spec.Disabled {
		return nil, fmt.Errorf("%w (user %q, API key %s)", ErrUserDisabled, k.Spec.User, id)
	}
	return k, nil
}

// keyPrincipal authenticates an API key token (CheckKey) and returns the name of its user. An
// accepted key's status.lastUsed is written at most once a minute (apikey.RecordUse), as a
// status-only update that moves no generation; a write that loses to another one, or fails,
// does not fail the authentication.
func (s *Server) keyPrincipal(ctx context.Context, token string, now time.Time) (string, error) {
	k, err := CheckKey(ctx, s.store, token, now)
	if err != nil {
		return "", err
	}
	s.recordKeyUse(ctx, k, now)
	return k.Spec.User, nil
}

// recordKeyUse writes now as k's status.lastUsed when the last one written is a minute old or
// more. k is the key as read, so the write fails on a stale resourceVersion rather than undo a
// change made since (a revocation, say): that use then goes unrecorded.
func (s *Server) recordKeyUse(ctx context.Context, k *v1alpha1.APIKey, now time.Time) {
	var last time.Time
	if k.Status.LastUsed != nil {
		last = *k.Status.LastUsed
	}
	if !apikey.RecordUse(last, now, apiKeyUseInterval) {
		return
	}
	used := now.UTC().Truncate(time.Second)
	k.Status.LastUsed = &used
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.store.Update(ctx, k)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		s.log.DebugContext(ctx, "the last use of an API key was not written: the key changed meanwhile", "id", k.Key())
	default:
		s.log.WarnContext(ctx, "write the last use of an API key", "id", k.Key(), "error", err)
	}
}
