package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/store"
)

// SessionPath is the web console's sign-in: POST {"user", "password"} starts a session held
// in the SessionCookie, DELETE ends it.
const SessionPath = "/console/session"

// SessionCookie holds a browser's session: the token of the session key a password sign-in
// mints (SessionLifetime). It is HttpOnly (no script reads it), Secure and SameSite=Strict
// (no other site's page sends it); writes are also refused from other origins
// (crossOriginProtected), which is the console's CSRF protection.
const SessionCookie = "strata_session"

// SessionInfo is the answer of a console sign-in: who signed in, until when.
type SessionInfo struct {
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// startSession serves POST SessionPath: the password sign-in of LoginPath (same checks,
// lockout and audit), whose key goes into the session cookie instead of the answer.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	s.passwordSignIn(func(w http.ResponseWriter, r *http.Request, session *Session) {
		http.SetCookie(w, sessionCookie(session.Token, session.APIKey.Spec.ExpiresAt))
		s.writeJSON(w, r, http.StatusCreated, SessionInfo{User: session.APIKey.Spec.User, ExpiresAt: session.APIKey.Spec.ExpiresAt})
	})(w, r)
}

// endSession serves DELETE SessionPath: the session's key is deleted (a copy of the cookie
// opens nothing any more) and the cookie cleared. Without a valid session it only clears it.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if c, err := r.Cookie(SessionCookie); err == nil && strings.HasPrefix(c.Value, entraSessionPrefix) {
		if id, _, err := s.entraSessionOf(ctx, c.Value); err == nil {
			s.forgetEntraSession(ctx, id)
		}
	} else if err == nil {
		if err := s.deleteSessionKey(ctx, c.Value); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	http.SetCookie(w, sessionCookie("", time.Unix(0, 0)))
	w.WriteHeader(http.StatusNoContent)
}

// deleteSessionKey deletes the key of a session token; a token that opens nothing is done.
func (s *Server) deleteSessionKey(ctx context.Context, token string) error {
	k, err := CheckKey(ctx, s.store, token, time.Now())
	if refusedKey(err) {
		return nil
	}
	if err != nil {
		return internal(err, "end the session")
	}
	if err := s.store.Delete(ctx, v1alpha1.KindAPIKey, k.Key(), ""); err != nil && !errors.Is(err, store.ErrNotFound) {
		return internal(err, "delete the key of the session")
	}
	s.deleted(ctx, k)
	s.log.InfoContext(ctx, "user signed out", "user", k.Spec.User, "key", k.Key())
	return nil
}

// sessionCookie is the cookie that holds token until expires (an empty token clears it).
func sessionCookie(token string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
	if token == "" {
		c.MaxAge = -1
	}
	return c
}

// requestToken returns the API key a request carries: in its headers (apikey.FromRequest),
// else in the console's session cookie.
func requestToken(r *http.Request) (string, bool) {
	if token, ok := apikey.FromRequest(r.Header); ok {
		return token, true
	}
	if _, bearer := r.Header["Authorization"]; bearer {
		return "", false // an Entra token, or a malformed header: not overridden by a cookie
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}
