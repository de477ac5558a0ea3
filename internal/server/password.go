package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/password"
	"github.com/strata-dev/strata/internal/store"
)

// LoginPath signs a local user in with a password: POST {"user", "password"}; the answer is a
// session, an API key of the user's that expires after SessionLifetime.
const LoginPath = APIPath + "/login"

// SessionLifetime is how long the key of a password sign-in is valid.
const SessionLifetime = 12 * time.Hour

// Lockout: after loginFailures failed sign-ins of one user within loginWindow, the user's
// sign-ins are refused (429) until the window has passed since the first of them.
const (
	loginFailures = 5
	loginWindow   = 15 * time.Minute
)

// Credentials is the body of a sign-in.
type Credentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Session is the answer of a sign-in: an API key and its token, shown once.
type Session = APIKeyCreated

// PasswordChange is the body of PUT /users/{name}/password.
type PasswordChange struct {
	Password string `json:"password"`
}

// passwordSecretName is the store secret holding the bcrypt hash of a user's password.
func passwordSecretName(user string) string { return "password/" + user }

// setPassword serves PUT /api/v1alpha1/users/{key}/password: users set their own; another
// user's needs user.update from a binding without a filter (the password is the user's
// credential, whatever the user's labels say).
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx, name := r.Context(), r.PathValue("key")
	if kind != v1alpha1.KindUser {
		return notFound(kind, name)
	}
	if g := guardOf(ctx); g != nil && g.who.Name != name {
		if err := g.allowUnscoped(v1alpha1.KindUser, authz.VerbUpdate); err != nil {
			return err
		}
	}
	var body PasswordChange
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	hash, err := password.Hash(body.Password)
	if err != nil {
		return invalidField(v1alpha1.KindUser, name, "password", err)
	}
	if _, err := s.store.Get(ctx, v1alpha1.KindUser, name); errors.Is(err, store.ErrNotFound) {
		return notFound(kind, name)
	} else if err != nil {
		return internal(err, "get user %q", name)
	}
	if err := s.store.PutSecret(ctx, passwordSecretName(name), hash); err != nil {
		return internal(err, "store the password of user %q", name)
	}
	s.log.InfoContext(ctx, "password set", "user", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// login serves POST /api/v1alpha1/login without credentials: a user, not disabled, whose
// password matches gets a session key (201). A wrong user name or password is one 401, after
// as long a check either way; a user with loginFailures failures in loginWindow gets 429.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	s.passwordSignIn(func(w http.ResponseWriter, r *http.Request, session *Session) {
		s.writeJSON(w, r, http.StatusCreated, session)
	})(w, r)
}

// passwordSignIn is the audited password sign-in of LoginPath and SessionPath: it reads the
// credentials, signs in (signIn) and leaves the answer of the session to answer.
func (s *Server) passwordSignIn(answer func(http.ResponseWriter, *http.Request, *Session)) http.HandlerFunc {
	return s.audited("login", func(w http.ResponseWriter, r *http.Request) {
		var c Credentials
		if err := readJSON(w, r, &c); err != nil {
			s.writeError(w, r, err)
			return
		}
		noteOf(r.Context()).kind, noteOf(r.Context()).key = v1alpha1.KindUser, c.User
		session, err := s.signIn(r.Context(), c, time.Now())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		noteOf(r.Context()).user = c.User
		w.Header().Set("Cache-Control", "no-store")
		answer(w, r, session)
	})
}

// signIn checks the credentials at now and mints the session.
func (s *Server) signIn(ctx context.Context, c Credentials, now time.Time) (*Session, error) {
	if !isText(c.User) || len(c.User) > 253 {
		return nil, badRequest("user: a user name is text of at most 253 bytes")
	}
	if !s.logins.allowed(c.User, now) {
		noteReason(ctx, "locked out")
		return nil, &apiError{code: http.StatusTooManyRequests, reason: ReasonTooManyRequests,
			message: fmt.Sprintf("too many failed sign-ins of %q: try again in %s", c.User, loginWindow)}
	}
	hash, err := s.passwordOf(ctx, c.User)
	if err != nil {
		return nil, err
	}
	if err := password.Check(hash, c.Password); err != nil {
		s.logins.failed(c.User, now)
		noteReason(ctx, "wrong user name or password")
		return nil, unauthorized("wrong user name or password")
	}
	s.logins.succeeded(c.User)
	token, k, err := MintKey(ctx, s.store, c.User, now.Add(SessionLifetime), "session of a password sign-in")
	if err != nil {
		return nil, internal(err, "make the session of user %q", c.User)
	}
	s.log.InfoContext(ctx, "user signed in with a password", "user", c.User, "key", k.Key())
	return &Session{APIKey: k, Token: token}, nil
}

// passwordOf returns the password hash of an enabled user, or nil when there is no such user,
// the user is disabled or has no password: each then fails the check alike.
func (s *Server) passwordOf(ctx context.Context, user string) ([]byte, error) {
	obj, err := s.store.Get(ctx, v1alpha1.KindUser, user)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal(err, "get user %q", user)
	}
	if u, ok := obj.(*v1alpha1.User); !ok || u.Spec.Disabled {
		return nil, nil
	}
	hash, err := s.store.GetSecret(ctx, passwordSecretName(user))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal(err, "read the password of user %q", user)
	}
	return hash, nil
}

// readJSON strictly decodes a small JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return badRequest("cannot read the request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the request body: %v", err)
	}
	return nil
}

// invalidField is a 422 for one field of an object's request.
func invalidField(kind, name, field string, err error) *apiError {
	return &apiError{code: http.StatusUnprocessableEntity, reason: ReasonInvalid,
		message: fmt.Sprintf("%s %q: %s %v", kind, name, field, err),
		errors:  v1alpha1.ErrorList{{Field: field, Rule: v1alpha1.RuleFormat, Message: err.Error()}}}
}

// loginLimiter counts the failed sign-ins of each user in the window since the first one.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string]loginFailuresOf
}

type loginFailuresOf struct {
	first time.Time
	n     int
}

// allowed reports whether user may try to sign in at now.
func (l *loginLimiter) allowed(user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.failures[user]
	if !ok || now.Sub(f.first) >= loginWindow {
		delete(l.failures, user)
		return true
	}
	return f.n < loginFailures
}

// failed counts a failure of user at now.
func (l *loginLimiter) failed(user string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string]loginFailuresOf{}
	}
	if len(l.failures) >= maxTrackedUsers {
		l.prune(now)
	}
	f := l.failures[user]
	if f.n == 0 || now.Sub(f.first) >= loginWindow {
		f = loginFailuresOf{first: now}
	}
	f.n++
	l.failures[user] = f
}

// maxTrackedUsers bounds the users whose failures are counted, so that attempts under many
// names cannot grow the table without end.
const maxTrackedUsers = 10000

// prune forgets the failures whose window has passed and, if the table is still full, one
// more user's (the map's order: an arbitrary one).
func (l *loginLimiter) prune(now time.Time) {
	for u, f := range l.failures {
		if now.Sub(f.first) >= loginWindow {
			delete(l.failures, u)
		}
	}
	for u := range l.failures {
		if len(l.failures) < maxTrackedUsers {
			break
		}
		delete(l.failures, u)
	}
}

// succeeded forgets the failures of user.
func (l *loginLimiter) succeeded(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, user)
}
