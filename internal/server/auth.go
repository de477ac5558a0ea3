package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/authz"
)

// ReasonUnauthorized (401): a request without valid credentials to a server with access
// control.
const ReasonUnauthorized = "Unauthorized"

// authenticate says who makes the request and loads the access policy it is decided with,
// returned as the request's guard; a request without valid credentials is a 401.
func (s *Server) authenticate(r *http.Request) (*guard, error) {
	ctx := r.Context()
	token, ok := requestToken(r)
	if ok && strings.HasPrefix(token, entraSessionPrefix) && s.entra != nil {
		return s.entraSessionGuard(ctx, token)
	}
	if !ok && s.entra != nil {
		if bearer, ok := entraBearer(r.Header); ok {
			return s.entraGuard(ctx, bearer)
		}
	}
	if !ok {
		noteReason(ctx, refusedKeyReason(nil))
		if s.entra != nil {
			return nil, unauthorized("no credentials: send an API key as \"Authorization: Bearer strata_...\" or in the ApiKey header (strata apikey create), or an Entra ID access token as \"Authorization: Bearer\" (GET %s says how to sign in)", AuthConfigPath)
		}
		return nil, unauthorized("no credentials: send an API key as \"Authorization: Bearer strata_...\" or in the ApiKey header (strata apikey create)")
	}
	user, err := s.keyPrincipal(ctx, token, time.Now())
	if err != nil {
		if refusedKey(err) {
			noteReason(ctx, refusedKeyReason(err))
			return nil, unauthorized("%v", err)
		}
		return nil, internal(err, "authenticate the request")
	}
	teams, err := s.teamsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	policy, err := s.loadPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return &guard{who: authz.Principal{Name: user, Teams: teams}, policy: policy}, nil
}

// refusedKey reports whether keyPrincipal's error refuses the key (a 401); another is the
// store's failure.
func refusedKey(err error) bool {
	for _, e := range []error{apikey.ErrMalformed, apikey.ErrMismatch, apikey.ErrExpired, apikey.ErrRevoked, ErrUserDisabled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// unauthorized is a 401 whose message says what is wrong with the credentials.
func unauthorized(format string, args ...any) *apiError {
	return &apiError{code: http.StatusUnauthorized, reason: ReasonUnauthorized, message: fmt.Sprintf(format, args...)}
}

// teamsOf returns the names of the teams that list user among their members.
func (s *Server) teamsOf(ctx context.Context, user string) ([]string, error) {
	objs, _, err := s.listAll(ctx, v1alpha1.KindTeam, "")
	if err != nil {
		return nil, err
	}
	var teams []string
	for _, o := range objs {
		if t, ok := o.(*v1alpha1.Team); ok && slices.Contains(t.Spec.Members, user) {
			teams = append(teams, t.Metadata.Name)
		}
	}
	return teams, nil
}

// loadPolicy reads the stored roles, tag filters and role bindings into a policy.
func (s *Server) loadPolicy(ctx context.Context) (*authz.Policy, error) {
	var roles []authz.Role
	var filters []authz.Filter
	var bindings []authz.Binding
	for _, kind := range []string{v1alpha1.KindRole, v1alpha1.KindTagFilter, v1alpha1.KindRoleBinding} {
		objs, _, err := s.listAll(ctx, kind, "")
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			switch o := o.(type) {
			case *v1alpha1.Role:
				roles = append(roles, o.Authz())
			case *v1alpha1.TagFilter:
				filters = append(filters, o.Authz())
			case *v1alpha1.RoleBinding:
				bindings = append(bindings, o.Authz())
			}
		}
	}
	p, err := authz.NewPolicy(roles, filters, bindings)
	if err != nil {
		return nil, internal(err, "load the access policy")
	}
	return p, nil
}

// metrics guards /metrics when access control is on: it needs a key whose user has metrics.get
// from a binding without a filter (the built-in admin role has it).
func (s *Server) metrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.access {
			g, err := s.authenticate(r)
			if err == nil {
				noteOf(r.Context()).user = g.who.Name
			}
			if err == nil && !g.policy.Unscoped(g.who, authz.Perm(authz.KindMetrics, authz.VerbGet)) {
				err = forbidden("no binding lets %s read the server's metrics (metrics.get, without a filter)", g.who.Name)
			}
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="strata"`)
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
