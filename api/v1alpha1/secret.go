package v1alpha1

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Secret is a write-only string such as a client secret. It decodes from JSON and YAML like a
// string, but it never encodes: with the `omitzero` tag option every Secret field is left out of
// JSON and YAML output, and printing or logging one shows "[redacted]". Only Reveal returns the
// plain text, for the code that must send it to Azure or seal it in the store.
type Secret struct{ value string }

// NewSecret wraps a plain-text secret.
func NewSecret(s string) Secret { return Secret{value: s} }

// Reveal returns the plain text.
func (s Secret) Reveal() string { return s.value }

// Empty reports whether no secret was given.
func (s Secret) Empty() bool { return s.value == "" }

// IsZero always reports true so that encoding/json's omitzero drops the field: a secret is never
// encoded.
func (s Secret) IsZero() bool { return true }

// MarshalJSON encodes a placeholder; it is reached only when a Secret field lacks omitzero.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// UnmarshalJSON decodes a JSON string.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("secret must be a string: %w", err)
	}
	s.value = v
	return nil
}

// String hides the value from fmt.
func (s Secret) String() string { return "[redacted]" }

// GoString hides the value from fmt's %#v.
func (s Secret) GoString() string { return "[redacted]" }

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// SecretCarrier is implemented by kinds that hold a write-only secret. The store seals the
// secret apart from the rest of the object and reports whether one is set.
type SecretCarrier interface {
	// SecretField returns the write-only field.
	SecretField() *Secret
	// SetSecretPresent records whether a secret is stored, for clients to see.
	SetSecretPresent(bool)
	// SecretPath is the JSON path of the secret field, e.g. spec, azure, clientSecret.
	SecretPath() []string
}

// SecretField returns the client secret.
func (o *CloudAccount) SecretField() *Secret { return &o.Spec.Azure.ClientSecret }

// SecretPath returns spec.azure.clientSecret.
func (o *CloudAccount) SecretPath() []string { return []string{"spec", "azure", "clientSecret"} }

// SetSecretPresent sets spec.azure.clientSecretSet.
func (o *CloudAccount) SetSecretPresent(set bool) { o.Spec.Azure.ClientSecretSet = set }

// KeepStoredSecrets gives obj, a replacement of old that ValidateUpdate accepted, the stored
// secret that it left out: an update may leave out a cloud account's client secret to keep
// it, unless it changes where the secret goes (validation refuses that).
func KeepStoredSecrets(old, obj Object) {
	prev, ok := old.(*CloudAccount)
	o, same := obj.(*CloudAccount)
	if ok && same && o.Spec.Azure.ClientSecret.Empty() {
		o.Spec.Azure.ClientSecret = prev.Spec.Azure.ClientSecret
	}
}

// MarshalWithSecret encodes obj as JSON with its write-only secret in plain text, for a client
// that sends the object to the server. Everything else encodes a Secret as nothing.
func MarshalWithSecret(obj Object) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	sc, ok := obj.(SecretCarrier)
	if !ok || sc.SecretField().Empty() {
		return data, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	path := sc.SecretPath()
	m := doc
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = sc.SecretField().Reveal()
	return json.Marshal(doc)
}
