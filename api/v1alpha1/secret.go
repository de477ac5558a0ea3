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

// SecretCarrier is implemented by kinds that hold write-only secrets: a cloud account's client
// secret, a gateway's proxy passwords. The store seals them, as one text, apart from the rest
// of the object, and reports whether they are set.
type SecretCarrier interface {
	Object
	// SecretText returns the object's secrets as the one text the store seals, "" when it
	// holds none.
	SecretText() string
	// SetSecretText sets the object's secrets from a text SecretText returned; "" clears them.
	SetSecretText(text string) error
	// SetSecretPresent sets the fields the server reports (clientSecretSet, ...PasswordSet):
	// with false to none set; with true to the secrets stored, that is those the object holds,
	// and for a cloud account the client secret even when the object left it out.
	SetSecretPresent(stored bool)
	// KeepsStoredSecret reports whether the store keeps the stored secret when an update
	// holds none (a cloud account's client secret may be left out), rather than clearing it (a
	// proxy's password goes with its URL).
	KeepsStoredSecret() bool
	// RevealSecrets writes the plain-text secrets into doc, the object's JSON as generic data,
	// for a client that sends the object to the server.
	RevealSecrets(doc map[string]any)
}

// SecretText returns the client secret.
func (o *CloudAccount) SecretText() string { return o.Spec.Azure.ClientSecret.Reveal() }

// SetSecretText sets the client secret.
func (o *CloudAccount) SetSecretText(text string) error {
	o.Spec.Azure.ClientSecret = NewSecret(text)
	return nil
}

// SetSecretPresent sets spec.azure.clientSecretSet.
func (o *CloudAccount) SetSecretPresent(set bool) { o.Spec.Azure.ClientSecretSet = set }

// KeepsStoredSecret returns true: an update may leave the client secret out to keep it.
func (o *CloudAccount) KeepsStoredSecret() bool { return true }

// RevealSecrets sets spec.azure.clientSecret in doc.
func (o *CloudAccount) RevealSecrets(doc map[string]any) {
	if s := o.Spec.Azure.ClientSecret; !s.Empty() {
		childMap(childMap(doc, "spec"), "azure")["clientSecret"] = s.Reveal()
	}
}

// childMap returns the object at key in m, adding an empty one when there is none.
func childMap(m map[string]any, key string) map[string]any {
	next, ok := m[key].(map[string]any)
	if !ok {
		next = map[string]any{}
		m[key] = next
	}
	return next
}

// KeepStoredSecrets gives obj, a replacement of old, the stored secrets that it left out and may
// keep: a cloud account's client secret when the update does not change where it goes, a
// proxy's password when the update names the same proxy and user without a password. What it
// may not keep, ValidateUpdate refuses.
func KeepStoredSecrets(old, obj Object) {
	switch o := obj.(type) {
	case *CloudAccount:
		prev, ok := old.(*CloudAccount)
		if ok && o.Spec.Azure.ClientSecret.Empty() && len(SecretTargetChanges(prev.Spec.Azure, o.Spec.Azure)) == 0 {
			o.Spec.Azure.ClientSecret = prev.Spec.Azure.ClientSecret
		}
	case *PrivateCloudGateway:
		prev, ok := old.(*PrivateCloudGateway)
		if !ok || prev.Spec.Proxy == nil || o.Spec.Proxy == nil {
			return
		}
		b, a := prev.Spec.Proxy, o.Spec.Proxy
		a.HTTPProxyPassword = keptPassword(b.HTTPProxy, b.httpPassword(), a.HTTPProxy, a.httpPassword())
		a.HTTPSProxyPassword = keptPassword(b.HTTPSProxy, b.httpsPassword(), a.HTTPSProxy, a.httpsPassword())
	}
}

// MarshalWithSecret encodes obj as JSON with its write-only secrets in plain text, for a client
// that sends the object to the server. Everything else encodes a Secret as nothing.
func MarshalWithSecret(obj Object) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	sc, ok := obj.(SecretCarrier)
	if !ok || sc.SecretText() == "" {
		return data, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	sc.RevealSecrets(doc)
	return json.Marshal(doc)
}
