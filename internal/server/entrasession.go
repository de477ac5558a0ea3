package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/strata-dev/strata/internal/entralogin"
	"github.com/strata-dev/strata/internal/store"
)

// The console's sign-in with Entra ID, the authorization code flow with PKCE run by the server
// (the browser holds no token, only the session cookie): EntraLoginPath redirects the browser to
// Entra ID, which sends it back to EntraCallbackPath with a code that the server redeems.
const (
	EntraLoginPath    = "/console/entra/login"
	EntraCallbackPath = "/console/entra/callback"
)

// entraFlowCookie carries the state and the PKCE verifier of a sign-in under way, from
// EntraLoginPath to EntraCallbackPath (SameSite=Lax: Entra ID's redirect back is a navigation
// from another site).
const entraFlowCookie = "strata_entra_flow"

// entraFlowLifetime is how long a sign-in with Entra ID may take.
const entraFlowLifetime = 10 * time.Minute

// entraSessionPrefix starts the session cookie of an Entra ID sign-in: entra.<id>.<secret>.
const entraSessionPrefix = "entra."

// entraSession is what the store keeps (sealed, as every secret) of an Entra ID sign-in to the
// console: the hash of the cookie's secret, the tokens, and when the session ends.
type entraSession struct {
	SecretHash string        `json:"secretHash"`
	Token      *oauth2.Token `json:"token"`
	ExpiresAt  time.Time     `json:"expiresAt"`
}

func entraSessionSecretName(id string) string { return "entrasession/" + id }

// entraLogin serves GET EntraLoginPath: the redirect to Entra ID's sign-in page.
func (s *Server) entraLogin(w http.ResponseWriter, r *http.Request) {
	if !s.access || s.entra == nil {
		s.writeError(w, r, &apiError{code: http.StatusNotFound, reason: ReasonNotFound, message: "this server offers no sign-in with Entra ID"})
		return
	}
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: entraFlowCookie, Value: state + "." + verifier, Path: "/console/entra/",
		MaxAge: int(entraFlowLifetime.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	conf := entralogin.Config(s.entra.LoginInfo(), callbackURL(r))
	http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callbackURL is where Entra ID sends the browser back, on the host the browser asked for
// (Entra ID sends it only to a redirect URI registered for the application).
func callbackURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http" // --insecure-http, on loopback only
	}
	return scheme + "://" + r.Host + EntraCallbackPath
}

// entraCallback serves GET EntraCallbackPath: it checks the state, redeems the code, checks the
// person as every Entra ID request is checked, keeps the tokens as a session and sets its
// cookie. Whatever fails sends the browser back to the sign-in page with the reason.
func (s *Server) entraCallback(w http.ResponseWriter, r *http.Request) {
	s.audited("login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: entraFlowCookie, Path: "/console/entra/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		token, user, err := s.finishEntraSignIn(r)
		if err != nil {
			noteReason(r.Context(), err.Error())
			http.Redirect(w, r, "/#/signin?error="+url.QueryEscape(err.Error()), http.StatusFound)
			return
		}
		noteOf(r.Context()).user = user
		http.SetCookie(w, sessionCookie(token, time.Now().Add(SessionLifetime)))
		http.Redirect(w, r, "/#/clusters", http.StatusFound)
	})(w, r)
}

// finishEntraSignIn does entraCallback's work and returns the session's cookie and the user.
func (s *Server) finishEntraSignIn(r *http.Request) (token, user string, err error) {
	ctx, q := r.Context(), r.URL.Query()
	if !s.access || s.entra == nil {
		return "", "", errors.New("this server offers no sign-in with Entra ID")
	}
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("sign-in refused by Entra ID: %s: %s", e, q.Get("error_description"))
	}
	flow, err := r.Cookie(entraFlowCookie)
	state, verifier, ok := strings.Cut(valueOf(flow, err), ".")
	if !ok || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1 {
		return "", "", errors.New("the sign-in with Entra ID took too long or was not started here: sign in again")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conf := entralogin.Config(s.entra.LoginInfo(), callbackURL(r))
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, s.entra.HTTPClient()), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		s.log.WarnContext(ctx, "redeem an Entra ID sign-in's code", "error", err)
		return "", "", errors.New("the sign-in's code was refused by Entra ID: sign in again")
	}
	g, err := s.entraGuard(ctx, tok.AccessToken)
	if err != nil {
		return "", "", err
	}
	token, err = s.newEntraSession(ctx, tok)
	if err != nil {
		return "", "", err
	}
	s.log.InfoContext(ctx, "user signed in to the console with Entra ID", "user", g.who.Name)
	return token, g.who.Name, nil
}

// valueOf is a cookie's value, or "" when there is none.
func valueOf(c *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return c.Value
}

// newEntraSession keeps tok as a session and returns its cookie's value.
func (s *Server) newEntraSession(ctx context.Context, tok *oauth2.Token) (string, error) {
	id, secret := strings.ToLower(rand.Text()), rand.Text()
	sum := sha256.Sum256([]byte(secret))
	sess := entraSession{SecretHash: hex.EncodeToString(sum[:]), Token: tok, ExpiresAt: time.Now().Add(SessionLifetime).UTC()}
	if err := s.putEntraSession(ctx, id, sess); err != nil {
		return "", err
	}
	return entraSessionPrefix + id + "." + secret, nil
}

func (s *Server) putEntraSession(ctx context.Context, id string, sess entraSession) error {
	data, err := json.Marshal(sess)
	if err == nil {
		err = s.store.PutSecret(ctx, entraSessionSecretName(id), data)
	}
	if err != nil {
		return internal(err, "keep the session of an Entra ID sign-in")
	}
	return nil
}

// entraSessionGuard authenticates a request by the cookie of an Entra ID session: its tokens,
// refreshed when the access token expires within a minute, are checked as a bearer token is.
func (s *Server) entraSessionGuard(ctx context.Context, token string) (*guard, error) {
	id, sess, err := s.entraSessionOf(ctx, token)
	if err != nil {
		return nil, err
	}
	if time.Now().After(sess.ExpiresAt) {
		s.forgetEntraSession(ctx, id)
		return nil, unauthorized("the console's session has ended: sign in again")
	}
	if time.Until(sess.Token.Expiry) < time.Minute {
		info := s.entra.LoginInfo()
		fresh, err := entralogin.TokenSource(ctx, info, s.entra.HTTPClient(), sess.Token).Token()
		if err != nil {
			s.log.WarnContext(ctx, "refresh the tokens of a console session", "error", err)
			return nil, unauthorized("Entra ID did not renew the console's session: sign in again")
		}
		sess.Token = fresh
		if err := s.putEntraSession(ctx, id, sess); err != nil {
			return nil, err
		}
	}
	return s.entraGuard(ctx, sess.Token.AccessToken)
}

// entraSessionOf reads the session a cookie's value names, checking its secret.
func (s *Server) entraSessionOf(ctx context.Context, token string) (string, entraSession, error) {
	id, secret, _ := strings.Cut(strings.TrimPrefix(token, entraSessionPrefix), ".")
	refused := unauthorized("the console's session is not valid: sign in again")
	if id == "" || strings.ContainsAny(id, "/.") {
		return "", entraSession{}, refused
	}
	data, err := s.store.GetSecret(ctx, entraSessionSecretName(id))
	if errors.Is(err, store.ErrNotFound) {
		return "", entraSession{}, refused
	}
	if err != nil {
		return "", entraSession{}, internal(err, "read a console session")
	}
	var sess entraSession
	if err := json.Unmarshal(data, &sess); err != nil || sess.Token == nil {
		return "", entraSession{}, internal(err, "read a console session")
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(sess.SecretHash)) != 1 {
		return "", entraSession{}, refused
	}
	return id, sess, nil
}

// forgetEntraSession deletes a session's tokens; a failure is logged.
func (s *Server) forgetEntraSession(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.DeleteSecret(ctx, entraSessionSecretName(id)); err != nil {
		s.log.ErrorContext(ctx, "delete a console session", "error", err)
	}
}
