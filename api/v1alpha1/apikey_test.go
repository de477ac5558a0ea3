package v1alpha1_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/api/v1alpha1/v1alpha1test"
	"github.com/strata-dev/strata/internal/apikey"
)

// keyID is an id as apikey.New makes them.
const keyID = "abcdefghijk23456"

// newKey is a valid key of the fixtures' user alice.
func newKey() *v1alpha1.APIKey {
	k := v1alpha1.New(v1alpha1.KindAPIKey).(*v1alpha1.APIKey)
	k.Metadata.Name = keyID
	k.Spec = v1alpha1.APIKeySpec{User: "alice", Description: "CI pipeline", ExpiresAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	return k
}

// TestAPIKeyValidation checks the rules of a new key: an id for a name, a stored user, an
// expiry, a bounded description.
func TestAPIKeyValidation(t *testing.T) {
	f := v1alpha1test.LoadFixtures(t)
	tests := []struct {
		name   string
		change func(k *v1alpha1.APIKey)
		want   []string
	}{
		{"valid", func(*v1alpha1.APIKey) {}, nil},
		{"revoked, without description", func(k *v1alpha1.APIKey) { k.Spec.Revoked, k.Spec.Description = true, "" }, nil},
		{"no expiry", func(k *v1alpha1.APIKey) { k.Spec.ExpiresAt = time.Time{} }, []string{"spec.expiresAt required"}},
		{"no user", func(k *v1alpha1.APIKey) { k.Spec.User = "" }, []string{"spec.user required"}},
		{"user that does not exist", func(k *v1alpha1.APIKey) { k.Spec.User = "nobody" }, []string{"spec.user not-found"}},
		{"user that is not a name", func(k *v1alpha1.APIKey) { k.Spec.User = "Alice" }, []string{"spec.user format"}},
		{"description at the bound, in characters", func(k *v1alpha1.APIKey) {
			k.Spec.Description = strings.Repeat("é", v1alpha1.MaxAPIKeyDescriptionLength)
		}, nil},
		{"description beyond the bound", func(k *v1alpha1.APIKey) {
			k.Spec.Description = strings.Repeat("a", v1alpha1.MaxAPIKeyDescriptionLength+1)
		}, []string{"spec.description too-long"}},
		{"name that is not an id", func(k *v1alpha1.APIKey) { k.Metadata.Name = "my-key" }, []string{"metadata.name format"}},
		{"id too short", func(k *v1alpha1.APIKey) { k.Metadata.Name = keyID[:15] }, []string{"metadata.name format"}},
		{"id with a letter base32 has not", func(k *v1alpha1.APIKey) { k.Metadata.Name = keyID[:15] + "1" }, []string{"metadata.name format"}},
		{"name that is not a DNS label, reported once", func(k *v1alpha1.APIKey) { k.Metadata.Name = strings.ToUpper(keyID) }, []string{"metadata.name format"}},
		{"everything missing", func(k *v1alpha1.APIKey) { k.Metadata.Name, k.Spec = "", v1alpha1.APIKeySpec{} },
			[]string{"metadata.name required", "spec.expiresAt required", "spec.user required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey()
			tc.change(k)
			v1alpha1.Default(k)
			if got := fieldRules(v1alpha1.Validate(context.Background(), k, f)); !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAPIKeyUpdate checks that an update may change a key's description and revoked, and
// neither its user nor its expiry.
func TestAPIKeyUpdate(t *testing.T) {
	f := append(v1alpha1test.LoadFixtures(t), v1alpha1test.Fixture{ID: "User/bob", Object: &v1alpha1.User{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindUser}, Metadata: v1alpha1.ObjectMeta{Name: "bob"},
	}})
	tests := []struct {
		name   string
		change func(k *v1alpha1.APIKey)
		want   []string
	}{
		{"nothing", func(*v1alpha1.APIKey) {}, nil},
		{"revoke", func(k *v1alpha1.APIKey) { k.Spec.Revoked = true }, nil},
		{"describe again", func(k *v1alpha1.APIKey) { k.Spec.Description = "deploys from GitHub Actions" }, nil},
		{"the same expiry in another zone", func(k *v1alpha1.APIKey) {
			k.Spec.ExpiresAt = k.Spec.ExpiresAt.In(time.FixedZone("CEST", 2*3600))
		}, nil},
		{"another user", func(k *v1alpha1.APIKey) { k.Spec.User = "bob" }, []string{"spec.user immutable"}},
		{"a later expiry", func(k *v1alpha1.APIKey) { k.Spec.ExpiresAt = k.Spec.ExpiresAt.Add(time.Hour) }, []string{"spec.expiresAt immutable"}},
		{"no expiry", func(k *v1alpha1.APIKey) { k.Spec.ExpiresAt = time.Time{} }, []string{"spec.expiresAt immutable", "spec.expiresAt required"}},
		{"user and expiry, and a description too long", func(k *v1alpha1.APIKey) {
			k.Spec.User, k.Spec.ExpiresAt = "bob", k.Spec.ExpiresAt.Add(-time.Hour)
			k.Spec.Description = strings.Repeat("a", v1alpha1.MaxAPIKeyDescriptionLength+1)
		}, []string{"spec.description too-long", "spec.expiresAt immutable", "spec.user immutable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, k := newKey(), newKey()
			tc.change(k)
			v1alpha1.Default(k)
			errs := v1alpha1.ValidateUpdate(context.Background(), old, k, f)
			if got := fieldRules(errs); !slices.Equal(got, tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
			for _, e := range errs {
				if e.Rule == v1alpha1.RuleImmutable && !strings.Contains(e.Message, "revoke") {
					t.Errorf("%s: message %q does not say what to do instead", e.Field, e.Message)
				}
			}
		})
	}
}

// TestAPIKeyDecode checks a key's document: an expiry that is not an RFC 3339 time is reported
// at its field, and the expiry is kept in UTC.
func TestAPIKeyDecode(t *testing.T) {
	doc := func(expiresAt string) []byte {
		return []byte("apiVersion: strata.dev/v1alpha1\nkind: APIKey\nmetadata: {name: " + keyID + "}\nspec:\n  user: alice\n  expiresAt: " + expiresAt + "\n")
	}
	for _, bad := range []string{"tomorrow", "2026-06-01", `"2026-06-01 00:00:00"`, "12"} {
		_, errs := v1alpha1.DecodeObject(doc(bad))
		want := "spec.expiresAt format"
		if bad == "12" {
			want = "spec.expiresAt type"
		}
		if got := fieldRules(errs); !slices.Equal(got, []string{want}) {
			t.Errorf("expiresAt %s: errors %q, want %q", bad, got, want)
		}
	}
	obj, errs := v1alpha1.DecodeObject(doc("2026-06-01T02:00:00+02:00"))
	if errs != nil {
		t.Fatal(errs)
	}
	v1alpha1.Default(obj)
	k := obj.(*v1alpha1.APIKey)
	if got := k.Spec.ExpiresAt; got.Location() != time.UTC || !got.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("expiresAt = %v, want 2026-06-01T00:00:00Z", got)
	}
	if refs := v1alpha1.References(k); !slices.Equal(refs, []v1alpha1.Ref{{Kind: v1alpha1.KindUser, Key: "alice"}}) {
		t.Errorf("References = %v, want the user", refs)
	}
}

// TestAPIKeyIDs checks that the ids apikey.New makes are valid names of APIKeys.
func TestAPIKeyIDs(t *testing.T) {
	for range 200 {
		_, rec, err := apikey.New(nil, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		k := newKey()
		k.Metadata.Name = rec.ID
		if !v1alpha1.IsAPIKeyID(rec.ID) {
			t.Fatalf("id %q is not an API key id", rec.ID)
		}
		if errs := v1alpha1.Validate(context.Background(), k, nil); len(errs) > 0 {
			t.Fatalf("key named %q: %v", rec.ID, errs)
		}
	}
}
