package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
)

// Row is an object as the implementations keep it: indexed columns, the JSON document without
// its secret, and the sealed secret.
type Row struct {
	Kind            string
	Key             string
	Name            string
	UID             string
	Generation      int64
	ResourceVersion int64
	// Spec is the JSON of the spec alone, compared to decide whether generation moves.
	Spec []byte
	// Data is the JSON of the whole object. It never holds a secret.
	Data []byte
	// Secret is the sealed secret, or nil when the object carries none.
	Secret []byte
}

// Codec turns objects into rows and back, sealing and opening secrets.
type Codec struct {
	Sealer *secrets.Sealer
}

// Encode builds the row for obj. The row's Secret is nil when obj carries no secret.
func (c Codec) Encode(obj v1alpha1.Object) (Row, error) {
	meta := obj.GetMetadata()
	data, err := json.Marshal(obj)
	if err != nil {
		return Row{}, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	spec, err := specJSON(data)
	if err != nil {
		return Row{}, err
	}
	row := Row{
		Kind:       obj.GetTypeMeta().Kind,
		Key:        obj.Key(),
		Name:       meta.Name,
		UID:        meta.UID,
		Generation: meta.Generation,
		Spec:       spec,
		Data:       data,
	}
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok && !sc.SecretField().Empty() {
		if meta.UID == "" {
			return Row{}, fmt.Errorf("seal secret of %s %s: object has no uid", row.Kind, row.Key)
		}
		row.Secret, err = c.Sealer.Seal([]byte(sc.SecretField().Reveal()), secretAAD(row.Kind, meta.UID))
		if err != nil {
			return Row{}, fmt.Errorf("seal secret of %s %s: %w", row.Kind, row.Key, err)
		}
	}
	return row, nil
}

// Decode rebuilds the object of a row, opening its secret.
func (c Codec) Decode(row Row) (v1alpha1.Object, error) {
	obj := v1alpha1.New(row.Kind)
	if obj == nil {
		return nil, fmt.Errorf("decode row: unknown kind %q", row.Kind)
	}
	if err := json.Unmarshal(row.Data, obj); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", row.Kind, row.Key, err)
	}
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		sc.SetSecretPresent(len(row.Secret) > 0)
		if len(row.Secret) > 0 {
			pt, err := c.Sealer.Open(row.Secret, secretAAD(row.Kind, obj.GetMetadata().UID))
			if err != nil {
				return nil, fmt.Errorf("decode %s %s: %w", row.Kind, row.Key, err)
			}
			*sc.SecretField() = v1alpha1.NewSecret(string(pt))
		}
	}
	return obj, nil
}

// SpecChanged reports whether two rows differ in spec or secret, which moves the generation.
// A row without a secret keeps the stored one, so it never counts as a secret change.
func (c Codec) SpecChanged(stored, updated Row) (bool, error) {
	if !bytes.Equal(stored.Spec, updated.Spec) {
		return true, nil
	}
	if updated.Secret == nil {
		return false, nil
	}
	if stored.Secret == nil {
		return true, nil
	}
	oldPT, err := c.Sealer.Open(stored.Secret, secretAAD(stored.Kind, stored.UID))
	if err != nil {
		return false, fmt.Errorf("compare secrets of %s %s: %w", stored.Kind, stored.Key, err)
	}
	newPT, err := c.Sealer.Open(updated.Secret, secretAAD(updated.Kind, updated.UID))
	if err != nil {
		return false, fmt.Errorf("compare secrets of %s %s: %w", updated.Kind, updated.Key, err)
	}
	return !bytes.Equal(oldPT, newPT), nil
}

func secretAAD(kind, uid string) []byte { return []byte(kind + "/" + uid) }

func specJSON(data []byte) ([]byte, error) {
	var doc struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("extract spec: %w", err)
	}
	return doc.Spec, nil
}

// EncodeData returns the JSON document of obj, as Encode puts it in Row.Data, without sealing
// the secret again: implementations call it when they have changed obj's metadata (generation,
// resourceVersion) after Encode.
func EncodeData(obj v1alpha1.Object) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetTypeMeta().Kind, obj.Key(), err)
	}
	return data, nil
}

// SpecOf returns the spec JSON of an object's JSON document, byte for byte as Encode puts it in
// Row.Spec, so that an implementation keeping only Data can rebuild the stored row's Spec
// before calling SpecChanged.
func SpecOf(data []byte) ([]byte, error) { return specJSON(data) }

// MarkSecretPresent records on obj, when its kind carries a secret, whether one is stored.
// Implementations clear the mark before Encode, so that the server-reported
// spec.azure.clientSecretSet never reaches the stored spec (where it would make an unchanged
// spec compare as changed), and set it to the truth once the write is done.
func MarkSecretPresent(obj v1alpha1.Object, present bool) {
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		sc.SetSecretPresent(present)
	}
}
