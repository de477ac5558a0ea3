package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

// Bootstrap makes user an administrator who can sign in, on a store whose server has access
// control: the User (kept when it exists), a RoleBinding "<user>-admin" to the built-in admin
// role (kept when it exists), and a new API key that expires at expires. It returns the key's
// token, to be shown once: only its hash is stored.
func Bootstrap(ctx context.Context, st store.Store, user string, expires time.Time) (string, error) {
	return BootstrapWith(ctx, st, user, expires, "made when the server first started")
}

// BootstrapWith is Bootstrap with the new key's description.
func BootstrapWith(ctx context.Context, st store.Store, user string, expires time.Time, description string) (string, error) {
	u := v1alpha1.New(v1alpha1.KindUser).(*v1alpha1.User)
	u.Metadata.Name = user
	u.Spec.DisplayName = "Administrator"
	b := v1alpha1.New(v1alpha1.KindRoleBinding).(*v1alpha1.RoleBinding)
	b.Metadata.Name = user + "-admin"
	b.Spec.Subject.User, b.Spec.Role = user, authz.RoleAdmin
	for _, obj := range []v1alpha1.Object{u, b} {
		v1alpha1.Default(obj)
		if err := st.Create(ctx, obj); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return "", fmt.Errorf("bootstrap: create %s %q: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
		}
	}
	token, _, err := MintKey(ctx, st, user, expires, description)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	return token, nil
}

// MintKey makes an API key of user that expires at expires, without the checks of POST
// /apikeys (the caller decides who gets one): the hash of its secret first, then the APIKey.
// It returns the token, to be shown once, and the key.
func MintKey(ctx context.Context, st store.Store, user string, expires time.Time, description string) (string, *v1alpha1.APIKey, error) {
	token, rec, err := apikey.New(nil, expires)
	if err != nil {
		return "", nil, err
	}
	k := v1alpha1.New(v1alpha1.KindAPIKey).(*v1alpha1.APIKey)
	k.Metadata.Name = rec.ID
	k.Spec.User, k.Spec.ExpiresAt, k.Spec.Description = user, expires.UTC().Truncate(time.Second), description
	v1alpha1.Default(k)
	if err := st.PutSecret(ctx, apiKeySecretName(rec.ID), []byte(rec.Hash)); err != nil {
		return "", nil, fmt.Errorf("store the hash of API key %s: %w", rec.ID, err)
	}
	if err := st.Create(ctx, k); err != nil {
		return "", nil, fmt.Errorf("create APIKey %q: %w", rec.ID, err)
	}
	return token, k, nil
}

// BootstrapKeyLifetime is how long the key of the first administrator is valid: long enough to
// make the keys people keep (strata apikey create).
const BootstrapKeyLifetime = 7 * 24 * time.Hour

// EnsureAdmin bootstraps the user "admin" (Bootstrap) when the store has no User yet, and
// returns its key's token, to be printed once; "" when users exist.
func EnsureAdmin(ctx context.Context, st store.Store, now time.Time) (string, error) {
	res, err := st.List(ctx, v1alpha1.KindUser, store.ListOptions{Limit: 1})
	if err != nil {
		return "", fmt.Errorf("bootstrap: list users: %w", err)
	}
	if len(res.Items) > 0 {
		return "", nil
	}
	return Bootstrap(ctx, st, "admin", now.Add(BootstrapKeyLifetime))
}
