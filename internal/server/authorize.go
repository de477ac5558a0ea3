package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

// guardKey keys a request's guard in its context.
type guardKey struct{}

// guard decides what a request may do: who makes it, and the access policy of the store when
// it arrived. A nil guard (a server without access control) allows everything.
type guard struct {
	who    authz.Principal
	policy *authz.Policy
}

// guardOf returns the request's guard, nil without access control.
func guardOf(ctx context.Context) *guard {
	g, _ := ctx.Value(guardKey{}).(*guard)
	return g
}

// withGuard returns ctx carrying g.
func withGuard(ctx context.Context, g *guard) context.Context {
	return context.WithValue(ctx, guardKey{}, g)
}

// tagsOf returns the tags a filter is evaluated on: a cluster's spec.tags, another object's
// labels.
func tagsOf(obj v1alpha1.Object) map[string]string {
	var specTags []string
	if c, ok := obj.(*v1alpha1.Cluster); ok {
		specTags = c.Spec.Tags
	}
	kind, _ := authz.KindForAPI(obj.GetTypeMeta().Kind)
	return authz.ObjectTags(kind, specTags, obj.GetMetadata().Labels)
}

// permission returns "<kind>.<verb>" for an API kind.
func permission(kind, verb string) (string, error) {
	k, err := authz.KindForAPI(kind)
	if err != nil {
		return "", fmt.Errorf("authorize: %w", err)
	}
	return authz.Perm(k, verb), nil
}

// sees reports whether the request may get obj. Everyone sees their own API keys; another
// user's key needs get on every key (its labels do not say whose it is).
func (g *guard) sees(obj v1alpha1.Object) bool {
	if g == nil || g.ownKey(obj) {
		return true
	}
	p, err := permission(obj.GetTypeMeta().Kind, authz.VerbGet)
	if err != nil {
		return false
	}
	if _, ok := obj.(*v1alpha1.APIKey); ok {
		return g.policy.Unscoped(g.who, p)
	}
	return g.policy.Decide(g.who, authz.Request{Permission: p, Tags: tagsOf(obj)}).Allowed
}

// ownKey reports whether obj is an API key of the caller, which the caller may get, revoke,
// re-activate and delete, and make, without any binding.
func (g *guard) ownKey(obj v1alpha1.Object) bool {
	k, ok := obj.(*v1alpha1.APIKey)
	return ok && k.Spec.User == g.who.Name
}

// othersKey checks verb on an API key of another user: a binding without a filter must allow
// it, since a key's labels do not say whose it is (a scoped apiKey.create would otherwise make
// keys for anyone).
func (g *guard) othersKey(verb string, obj v1alpha1.Object) error {
	if !g.sees(obj) {
		return notFound(obj.GetTypeMeta().Kind, obj.Key())
	}
	return g.allowUnscoped(v1alpha1.KindAPIKey, verb)
}

// allow checks verb on obj: nil when allowed; 404, as if absent, when the request may not even
// get it; 403 naming why otherwise.
func (g *guard) allow(verb string, obj v1alpha1.Object) error {
	if g == nil {
		return nil
	}
	kind := obj.GetTypeMeta().Kind
	if _, ok := obj.(*v1alpha1.APIKey); ok {
		if g.ownKey(obj) {
			return nil
		}
		return g.othersKey(verb, obj)
	}
	if !g.sees(obj) {
		return notFound(kind, obj.Key())
	}
	p, err := permission(kind, verb)
	if err != nil {
		return internal(err, "authorize %s on %s %q", verb, kind, obj.Key())
	}
	if d := g.policy.Decide(g.who, authz.Request{Permission: p, Tags: tagsOf(obj)}); !d.Allowed {
		return forbidden("%s %q: %s", kind, obj.Key(), d.Reason)
	}
	return nil
}

// allowList checks that the request may list kind at all (some objects of it, at least).
func (g *guard) allowList(kind string) error {
	if g == nil || kind == v1alpha1.KindAPIKey { // everyone lists their own keys
		return nil
	}
	p, err := permission(kind, authz.VerbList)
	if err != nil {
		return internal(err, "authorize listing %s", kind)
	}
	if !g.policy.Decide(g.who, authz.Request{Permission: p, KindWide: true}).Allowed {
		return forbidden("no binding lets %s list %s", g.who.Name, v1alpha1.Plural(kind))
	}
	return nil
}

// allowUnscoped checks that a binding without a filter grants verb on kind: what a request
// about no object in particular needs.
func (g *guard) allowUnscoped(kind, verb string) error {
	if g == nil {
		return nil
	}
	p, err := permission(kind, verb)
	if err != nil {
		return internal(err, "authorize %s on %s", verb, kind)
	}
	if !g.policy.Unscoped(g.who, p) {
		return forbidden("no binding lets %s %s every object of %s", g.who.Name, verb, v1alpha1.Plural(kind))
	}
	return nil
}

// visible keeps the objects the request may get.
func (g *guard) visible(objs []v1alpha1.Object) []v1alpha1.Object {
	if g == nil {
		return objs
	}
	return slices.DeleteFunc(slices.Clone(objs), func(o v1alpha1.Object) bool { return !g.sees(o) })
}

// allowWrite checks a create (old nil) or an update of old into obj: the object as it is must
// be visible, and both its tags and the new ones within the caller's scope (a write can
// never move an object into or out of another's scope).
func (g *guard) allowWrite(old, obj v1alpha1.Object) error {
	if g == nil {
		return nil
	}
	kind, verb := obj.GetTypeMeta().Kind, authz.VerbCreate
	if old != nil {
		verb = authz.VerbUpdate
	}
	if _, ok := obj.(*v1alpha1.APIKey); ok {
		if g.ownKey(obj) && (old == nil || g.ownKey(old)) {
			return nil
		}
		if old != nil && !g.sees(old) {
			return notFound(kind, old.Key())
		}
		return g.allowUnscoped(kind, verb)
	}
	var oldTags map[string]string
	if old != nil {
		if !g.sees(old) {
			return notFound(kind, old.Key())
		}
		verb, oldTags = authz.VerbUpdate, tagsOf(old)
	}
	p, err := permission(kind, verb)
	if err != nil {
		return internal(err, "authorize %s of %s %q", verb, kind, obj.Key())
	}
	err = g.policy.CheckWrite(g.who, p, oldTags, tagsOf(obj))
	var denied *authz.DeniedError
	if errors.As(err, &denied) {
		return forbidden("%s %q: %s", kind, obj.Key(), denied.Error())
	}
	if err != nil {
		return internal(err, "authorize %s of %s %q", verb, kind, obj.Key())
	}
	return nil
}

// forbidden is a 403 whose message says why.
func forbidden(format string, args ...any) *apiError {
	return &apiError{code: http.StatusForbidden, reason: ReasonForbidden, message: fmt.Sprintf(format, args...)}
}

// authorizeWrite checks a create (old nil) or an update (allowWrite) and, for an object that
// refers to cloud accounts or cluster profiles (a cluster), that the caller may use each: a
// reference it may not see is answered as absent.
func (s *Server) authorizeWrite(ctx context.Context, old, obj v1alpha1.Object) error {
	g := guardOf(ctx)
	if g == nil {
		return nil
	}
	if err := g.allowWrite(old, obj); err != nil {
		return err
	}
	for _, ref := range v1alpha1.References(obj) {
		if ref.Kind != v1alpha1.KindCloudAccount && ref.Kind != v1alpha1.KindClusterProfile {
			continue
		}
		used, err := s.store.Get(ctx, ref.Kind, ref.Key)
		if errors.Is(err, store.ErrNotFound) {
			continue // validation names the missing reference
		}
		if err != nil {
			return internal(err, "get %s %q", ref.Kind, ref.Key)
		}
		if err := g.allow(authz.VerbUse, used); err != nil {
			return err
		}
	}
	return nil
}
