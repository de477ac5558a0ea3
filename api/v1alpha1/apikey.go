package v1alpha1

import (
	"context"
	"regexp"
	"time"
	"unicode/utf8"
)

// APIKey is an API key of a User. Its name is the key's id, the public part of the token
// "strata_<id>_<secret>" that package apikey makes. Only the server makes keys (POST
// /api/v1alpha1/apikeys): it shows the token once and keeps the hash of its secret apart from
// the object, sealed; the object holds neither. An apply may change an existing key's
// description and revoked, nothing else. docs/access.md describes it.
type APIKey struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta   `json:"metadata"`
	Spec     APIKeySpec   `json:"spec"`
	Status   APIKeyStatus `json:"status,omitzero"`
}

// APIKeySpec is whose a key is, until when, and whether it is revoked.
type APIKeySpec struct {
	// User names the stored User the key authenticates as; it cannot change, and the User
	// cannot be deleted while the key exists.
	User string `json:"user"`
	// Description says what the key is for: optional, at most MaxAPIKeyDescriptionLength
	// characters.
	Description string `json:"description,omitempty"`
	// ExpiresAt is when the key stops working: required, and fixed when the key is made.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Revoked keys are refused until re-activated (revoked set back to false).
	Revoked bool `json:"revoked,omitempty"`
}

// APIKeyStatus is the common status and when the key was last used.
type APIKeyStatus struct {
	Status
	// LastUsed is when the key last authenticated a request, written at most once a minute.
	LastUsed *time.Time `json:"lastUsed,omitempty"`
}

// Key returns the object's name, the key's id.
func (o *APIKey) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *APIKey) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's common status.
func (o *APIKey) GetStatus() *Status { return &o.Status.Status }

// apiKeyID is the shape of a key's id as package apikey makes it: 10 random bytes in lowercase
// base32 without padding.
var apiKeyID = regexp.MustCompile(`^[a-z2-7]{16}$`)

// IsAPIKeyID reports whether s has the shape of an API key's id, the name of an APIKey.
func IsAPIKeyID(s string) bool { return apiKeyID.MatchString(s) }

// validateAPIKey checks a key's name (an id as the server makes them), its user (a stored
// User), its description and its expiry; on an update of old, that neither the user nor the
// expiry changes.
func validateAPIKey(ctx context.Context, o *APIKey, r Resolver, old *APIKey, errs *ErrorList) {
	// A name that breaks the DNS-1123 rule is already reported by validateMeta.
	if n := o.Metadata.Name; n != "" && len(n) <= 63 && dns1123Label.MatchString(n) && !IsAPIKeyID(n) {
		errs.Add("metadata.name", RuleFormat, "%q is not an API key id (16 characters of a-z and 2-7): the server names a key when it makes it, with POST /api/v1alpha1/apikeys or strata apikey create", n)
	}
	p := Path("spec")
	checkNamedRef(ctx, r, errs, p.Child("user"), KindUser, o.Spec.User)
	if n := utf8.RuneCountInString(o.Spec.Description); n > MaxAPIKeyDescriptionLength {
		errs.Add(p.Child("description"), RuleTooLong, "must be at most %d characters, got %d", MaxAPIKeyDescriptionLength, n)
	}
	if o.Spec.ExpiresAt.IsZero() {
		errs.Add(p.Child("expiresAt"), RuleRequired, "an API key needs an expiry: an RFC 3339 time such as 2026-06-01T00:00:00Z, at most the server's maximum lifetime away")
	}
	if old == nil {
		return
	}
	if o.Spec.User != old.Spec.User {
		errs.Add(p.Child("user"), RuleImmutable, "cannot change after the key is made (it was %q): make a key for the other user and revoke or delete this one", old.Spec.User)
	}
	if !o.Spec.ExpiresAt.Equal(old.Spec.ExpiresAt) {
		errs.Add(p.Child("expiresAt"), RuleImmutable, "cannot change after the key is made (it is %s): make a new key and revoke or delete this one", old.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
}
