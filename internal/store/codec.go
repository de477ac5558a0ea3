package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

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
	row := Row{
		Kind:       obj.GetTypeMeta().Kind,
		Key:        obj.Key(),
		Name:       meta.Name,
		UID:        meta.UID,
		Generation: meta.Generation,
		Data:       data,
	}
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok && sc.SecretText() != "" {
		if meta.UID == "" {
			return Row{}, fmt.Errorf("seal secret of %s %s: object has no uid", row.Kind, row.Key)
		}
		row.Secret, err = c.Sealer.Seal([]byte(sc.SecretText()), secretAAD(row.Kind, meta.UID))
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
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok && len(row.Secret) > 0 {
		pt, err := c.Sealer.Open(row.Secret, secretAAD(row.Kind, obj.GetMetadata().UID))
		if err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", row.Kind, row.Key, err)
		}
		if err := sc.SetSecretText(string(pt)); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", row.Kind, row.Key, err)
		}
	}
	markSecretPresent(obj, len(row.Secret) > 0)
	return obj, nil
}

// Reseal returns the row of an object whose JSON still holds its secret, as a strata from
// before the secret was write-only wrote it (a gateway's proxy URL with its password), with the
// secret moved to the sealed column; ok is false when the row needs no change.
func (c Codec) Reseal(row Row) (out Row, ok bool, err error) {
	if len(row.Secret) > 0 {
		return row, false, nil
	}
	obj, err := c.Decode(row)
	if err != nil {
		return row, false, err
	}
	if sc, carries := obj.(v1alpha1.SecretCarrier); !carries || sc.SecretText() == "" {
		return row, false, nil
	}
	out, err = c.Encode(obj)
	if err != nil {
		return row, false, err
	}
	return out, true, nil
}

// specChanged reports whether two rows differ in spec or secret, which moves the generation.
// A row without a secret of a kind that keeps the stored one (keep) never counts as a secret
// change; of another kind, it clears a stored secret.
func (c Codec) specChanged(stored, updated Row, keep bool) (bool, error) {
	oldSpec, err := specJSON(stored.Data)
	if err != nil {
		return false, fmt.Errorf("%s %s: stored object: %w", stored.Kind, stored.Key, err)
	}
	newSpec, err := specJSON(updated.Data)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(oldSpec, newSpec) {
		return true, nil
	}
	if updated.Secret == nil {
		return !keep && stored.Secret != nil, nil
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

// markSecretPresent records on obj, when its kind carries a secret, whether one is stored.
// Implementations clear the mark before Encode, so that the server-reported
// spec.azure.clientSecretSet never reaches the stored spec (where it would make an unchanged
// spec compare as changed), and set it to the truth once the write is done.
func markSecretPresent(obj v1alpha1.Object, present bool) {
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		sc.SetSecretPresent(present)
	}
}

// pendingUpdate is an update checked against the stored row, waiting for its resourceVersion.
type pendingUpdate struct {
	obj v1alpha1.Object
	// row is the new row without its resourceVersion; its Data is encoded again by finish.
	row Row
	// changed says that the spec or the secret changed: the generation moves.
	changed bool
}

// prepareUpdate checks obj against the stored row, with the update semantics every
// implementation shares: obj's resourceVersion must be the stored one (ErrConflict otherwise);
// uid and creation time are kept; the generation moves only when the spec or the secret
// changed; an object that carries no secret keeps the stored one when its kind does
// (v1alpha1.SecretCarrier's KeepsStoredSecret), and clears it otherwise. stored needs Kind, Key,
// UID, Generation, ResourceVersion, Data and Secret. obj's metadata is set to match the new row
// but for the resourceVersion, which finish sets.
func (c Codec) prepareUpdate(obj v1alpha1.Object, stored Row, created time.Time) (*pendingUpdate, error) {
	meta := obj.GetMetadata()
	what := stored.Kind + " " + stored.Key
	if meta.ResourceVersion != strconv.FormatInt(stored.ResourceVersion, 10) {
		return nil, fmt.Errorf("update %s: resourceVersion %q, stored %d: %w", what, meta.ResourceVersion, stored.ResourceVersion, ErrConflict)
	}
	created = created.UTC()
	meta.UID = stored.UID // the secret is sealed for the stored uid
	meta.CreationTimestamp = &created
	// The generation sits in metadata, outside the compared spec.
	meta.Generation = stored.Generation
	markSecretPresent(obj, false)
	row, err := c.Encode(obj)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	sc, carrier := obj.(v1alpha1.SecretCarrier)
	keep := carrier && sc.KeepsStoredSecret()
	changed, err := c.specChanged(stored, row, keep)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if changed {
		meta.Generation++
		row.Generation = meta.Generation
	}
	if row.Secret == nil && keep {
		row.Secret = stored.Secret
	}
	return &pendingUpdate{obj: obj, row: row, changed: changed}, nil
}

// finish sets the resourceVersion of the update on its object and returns the row to store.
func (p *pendingUpdate) finish(rv int64) (Row, error) {
	p.obj.GetMetadata().ResourceVersion = strconv.FormatInt(rv, 10)
	row := p.row
	row.ResourceVersion = rv
	data, err := json.Marshal(p.obj)
	if err != nil {
		return Row{}, fmt.Errorf("update %s %s: encode: %w", row.Kind, row.Key, err)
	}
	row.Data = data
	return row, nil
}

// keepMetadataOnFailure runs write, which stores obj and reports whether a secret is stored
// with it. When write fails, obj's metadata is restored as it was; when it succeeds, obj
// reports whether its secret is stored.
func keepMetadataOnFailure(obj v1alpha1.Object, write func() (secretStored bool, err error)) error {
	meta := obj.GetMetadata()
	saved := *meta
	stored, err := write()
	if err != nil {
		*meta = saved
		return err
	}
	markSecretPresent(obj, stored)
	return nil
}

// prepareNew sets the metadata of an object about to be created: a new uid, generation 1, the
// creation time (returned, UTC to the second) and no deletion time. The caller then takes a
// resource version and encodes the row.
func prepareNew(obj v1alpha1.Object) time.Time {
	meta := obj.GetMetadata()
	now := time.Now().UTC().Truncate(time.Second)
	meta.UID = uuid.NewString()
	meta.Generation = 1
	meta.CreationTimestamp = &now
	meta.DeletionTimestamp = nil
	markSecretPresent(obj, false)
	return now
}

// PrepareEvent checks an event about to be recorded and sets its time as the implementations
// keep it: now when unset, in UTC, to the microsecond.
func PrepareEvent(ev *Event) error {
	if ev.Kind == "" || ev.Key == "" || ev.UID == "" {
		return fmt.Errorf("record event: kind, key and uid are required")
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	return nil
}

// SealSecret seals an internal secret, bound to its name.
func (c Codec) SealSecret(name string, plaintext []byte) ([]byte, error) {
	sealed, err := c.Sealer.Seal(plaintext, []byte("secret/"+name))
	if err != nil {
		return nil, fmt.Errorf("seal secret %s: %w", name, err)
	}
	return sealed, nil
}

// OpenSecret opens what SealSecret sealed for the same name.
func (c Codec) OpenSecret(name string, sealed []byte) ([]byte, error) {
	pt, err := c.Sealer.Open(sealed, []byte("secret/"+name))
	if err != nil {
		return nil, fmt.Errorf("open secret %s: %w", name, err)
	}
	return pt, nil
}

// Rows is what List reads: database/sql's and pgx's result rows both have these methods.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
}

// ListPage decodes the rows of a List query (key, data, secret; ordered by key, at most
// limit+1 of them when limit > 0) into a page, setting Continue when the extra row shows that
// more follow. The caller closes the rows and checks their Err afterwards (pgx allows Err
// only once the rows are closed).
func (c Codec) ListPage(kind string, rows Rows, limit int) (ListResult, error) {
	var res ListResult
	for rows.Next() {
		if limit > 0 && len(res.Items) == limit {
			res.Continue = res.Items[len(res.Items)-1].Key()
			break
		}
		row := Row{Kind: kind}
		var data string
		if err := rows.Scan(&row.Key, &data, &row.Secret); err != nil {
			return ListResult{}, fmt.Errorf("list %s: %w", kind, err)
		}
		row.Data = []byte(data)
		obj, err := c.Decode(row)
		if err != nil {
			return ListResult{}, fmt.Errorf("list %s: %w", kind, err)
		}
		res.Items = append(res.Items, obj)
	}
	return res, nil
}
