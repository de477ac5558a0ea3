package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/entra"
)

// AuthConfigPath answers, without credentials, how to sign in: AuthConfig.
const AuthConfigPath = APIPath + "/auth/config"

// AuthConfig is the answer of AuthConfigPath: {"entra": {...}} when the server accepts Entra
// ID sign-ins, {} when it does not.
type AuthConfig struct {
	Entra *entra.LoginInfo `json:"entra,omitempty"`
}

// EntraVerifier verifies the Entra ID tokens of people who sign in; *entra.Verifier is one.
type EntraVerifier interface {
	// Verify returns whom a token names, or why it is refused (see package entra's errors).
	Verify(ctx context.Context, raw string) (entra.Identity, error)
	// LoginInfo is what a client needs to sign in.
	LoginInfo() entra.LoginInfo
	// HTTPClient reaches Entra ID: the console's sign-in redeems its codes and refreshes its
	// tokens with it.
	HTTPClient() *http.Client
}

// Why an Entra ID identity is refused, beyond its token; each a 401.
var (
	errEntraUserDisabled = errors.New("the strata user of the Entra ID user is disabled")
	errEntraAmbiguous    = errors.New("several strata users have the Entra ID user's email")
	errEntraNameTaken    = errors.New("the Entra ID user's name is a strata user's whose email is another")
)

// authConfig serves AuthConfigPath.
func (s *Server) authConfig(w http.ResponseWriter, r *http.Request) {
	var c AuthConfig
	if s.access && s.entra != nil {
		info := s.entra.LoginInfo()
		c.Entra = &info
	}
	s.writeJSON(w, r, http.StatusOK, c)
}

// entraBearer returns the bearer token of h when it is not a strata API key: an Entra ID
// token to verify.
func entraBearer(h http.Header) (string, bool) {
	scheme, token, ok := strings.Cut(h.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.HasPrefix(token, apikey.Prefix) {
		return "", false
	}
	return token, true
}

// entraGuard authenticates a request by its Entra ID token and loads the access policy.
func (s *Server) entraGuard(ctx context.Context, token string) (*guard, error) {
	id, err := s.entra.Verify(ctx, token)
	if errors.Is(err, entra.ErrUnavailable) {
		s.log.ErrorContext(ctx, "verify an Entra ID token", "error", err)
		noteReason(ctx, entra.ErrUnavailable.Error())
		return nil, &apiError{code: http.StatusServiceUnavailable, reason: ReasonServiceUnavailable,
			message: "Entra ID cannot be reached to verify the token: try again later, or use an API key"}
	}
	if err != nil {
		noteReason(ctx, refusedEntraReason(err))
		return nil, unauthorized("%v", err)
	}
	users, err := listTyped[*v1alpha1.User](ctx, s, v1alpha1.KindUser)
	if err != nil {
		return nil, err
	}
	teams, err := listTyped[*v1alpha1.Team](ctx, s, v1alpha1.KindTeam)
	if err != nil {
		return nil, err
	}
	who, err := entraPrincipal(users, teams, id)
	if err != nil {
		noteReason(ctx, refusedEntraReason(err))
		return nil, unauthorized("%v (Entra ID user %q)", err, id.Username)
	}
	policy, err := s.loadPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return &guard{who: who, policy: policy}, nil
}

// listTyped lists the stored objects of kind as T.
func listTyped[T v1alpha1.Object](ctx context.Context, s *Server, kind string) ([]T, error) {
	objs, _, err := s.listAll(ctx, kind, "")
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// refusedEntraReason is the reason the audit trail records for a refused Entra ID sign-in:
// the kind of refusal, without the token or the user.
func refusedEntraReason(err error) string {
	for _, e := range []error{entra.ErrExpired, entra.ErrWrongIssuer, entra.ErrWrongAudience, entra.ErrInvalid,
		errEntraUserDisabled, errEntraAmbiguous, errEntraNameTaken} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return entra.ErrInvalid.Error()
}

// entraPrincipal decides who a verified Entra ID identity is to strata. Its name is the
// User's whose spec.email is the identity's username (case aside), refused when that User is
// disabled; without one, the username in lower case (what the audit trail records; such a
// user gets what the teams of its groups get). Its teams are those that list the name among
// their members, and those whose spec.entraGroups hold one of the identity's groups.
func entraPrincipal(users []*v1alpha1.User, teams []*v1alpha1.Team, id entra.Identity) (authz.Principal, error) {
	name, err := entraUserName(users, id.Username)
	if err != nil {
		return authz.Principal{}, err
	}
	var names []string
	for _, t := range teams {
		inGroup := slices.ContainsFunc(t.Spec.EntraGroups, func(g string) bool {
			return slices.ContainsFunc(id.Groups, func(h string) bool { return strings.EqualFold(g, h) })
		})
		if inGroup || slices.Contains(t.Spec.Members, name) {
			names = append(names, t.Metadata.Name)
		}
	}
	return authz.Principal{Name: name, Teams: names}, nil
}

// entraUserName is the name of the principal of an Entra ID username (see entraPrincipal).
func entraUserName(users []*v1alpha1.User, username string) (string, error) {
	var match *v1alpha1.User
	for _, u := range users {
		if u.Spec.Email == "" || !strings.EqualFold(u.Spec.Email, username) {
			continue
		}
		if match != nil {
			return "", errEntraAmbiguous
		}
		match = u
	}
	if match != nil && match.Spec.Disabled {
		return "", errEntraUserDisabled
	}
	if match != nil {
		return match.Metadata.Name, nil
	}
	name := strings.ToLower(username)
	if slices.ContainsFunc(users, func(u *v1alpha1.User) bool { return u.Metadata.Name == name }) {
		return "", errEntraNameTaken
	}
	return name, nil
}
