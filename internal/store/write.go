package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// WriteTx is one write transaction of an implementation: the statements that the writes of
// every implementation are made of. Codec's Create, Update and Delete run them in the same order
// on every implementation: first the reads that lock rows, then the resourceVersion, then the
// writes, all at once (Apply).
type WriteTx interface {
	// Lock reads the stored row of kind/key and locks it until the transaction ends: against
	// every other write and new referrers when forDelete (a deletion, or an update that sets
	// deletionTimestamp), against other writes of the row only otherwise. ErrNotFound when
	// there is no such row.
	Lock(ctx context.Context, kind, key string, forDelete bool) (StoredRow, error)
	// Targets reads the objects of refs and keeps them from being deleted until the
	// transaction ends; referrers do not keep each other waiting. An object not found has no
	// entry.
	Targets(ctx context.Context, refs []v1alpha1.Ref) (map[v1alpha1.Ref]TargetState, error)
	// RefsFrom returns the stored references of kind/key, sorted by kind and key.
	RefsFrom(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error)
	// Referrers returns the objects that refer to kind/key, sorted by kind and key.
	Referrers(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error)
	// NextResourceVersion takes the resourceVersion of this write, after the reads and
	// before the writes.
	NextResourceVersion(ctx context.Context) (int64, error)
	// Apply makes the writes w. For an insert whose key is taken it returns false, and the
	// transaction must not be committed.
	Apply(ctx context.Context, w Writes) (bool, error)
}

// The ways a write changes the row of its object.
const (
	OpInsert = iota + 1
	OpUpdate
	OpDelete
)

// Writes are the writes of one Create, Update or Delete, made at once after the reads.
type Writes struct {
	// Op is OpInsert, OpUpdate or OpDelete of Row (of its Kind and Key for OpDelete).
	Op  int
	Row Row
	// Created is the creation time of an insert; Deleted the deletion time of an update.
	Created time.Time
	Deleted *time.Time
	// Refs replace the stored references of the object when SetRefs.
	Refs    []v1alpha1.Ref
	SetRefs bool
	// Change is the write's change.
	Change ChangeRow
}

// StoredRow is a row read by WriteTx.Lock.
type StoredRow struct {
	Row
	Created time.Time
	// Deleting says that the stored object has a deletionTimestamp.
	Deleting bool
}

// Transact runs fn in one write transaction of an implementation and commits it when fn
// succeeds. what names the write in the errors of the transaction; fn's errors are returned as
// they are.
type Transact func(ctx context.Context, what string, fn func(WriteTx) error) error

// Create is Store.Create on the write transactions that transact runs.
func (c Codec) Create(ctx context.Context, transact Transact, obj v1alpha1.Object) error {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	if v1alpha1.New(kind) == nil {
		return fmt.Errorf("create %s %s: unknown kind", kind, key)
	}
	return keepMetadataOnFailure(obj, func() (secretStored bool, err error) {
		created := prepareNew(obj)
		err = transact(ctx, "create "+kind+" "+key, func(tx WriteTx) (err error) {
			secretStored, err = c.createIn(ctx, tx, obj, created)
			return err
		})
		return secretStored, err
	})
}

// Update is Store.Update on the write transactions that transact runs.
func (c Codec) Update(ctx context.Context, transact Transact, obj v1alpha1.Object) error {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	return keepMetadataOnFailure(obj, func() (secretStored bool, err error) {
		err = transact(ctx, "update "+kind+" "+key, func(tx WriteTx) (err error) {
			secretStored, err = c.updateIn(ctx, tx, obj)
			return err
		})
		return secretStored, err
	})
}

// Delete is Store.Delete on the write transactions that transact runs.
func (c Codec) Delete(ctx context.Context, transact Transact, kind, key, resourceVersion string) error {
	return transact(ctx, "delete "+kind+" "+key, func(tx WriteTx) error {
		return c.deleteIn(ctx, tx, kind, key, resourceVersion)
	})
}

// createIn stores obj, whose metadata prepareNew set, in tx and reports whether a secret is
// stored with it. It fails with a *ReferenceError when obj refers to an object that does not
// exist or is being deleted, with ErrAlreadyExists when the key is taken.
func (c Codec) createIn(ctx context.Context, tx WriteTx, obj v1alpha1.Object, created time.Time) (bool, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	refs := refsOf(obj)
	if err := lockTargets(ctx, tx, kind, key, refs); err != nil {
		return false, fmt.Errorf("create %s %s: %w", kind, key, err)
	}
	rv, err := tx.NextResourceVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("create %s %s: %w", kind, key, err)
	}
	obj.GetMetadata().ResourceVersion = strconv.FormatInt(rv, 10)
	row, err := c.Encode(obj)
	if err != nil {
		return false, fmt.Errorf("create: %w", err)
	}
	row.ResourceVersion = rv
	change, err := changeRow(ChangeAdded, obj, row, rv)
	if err != nil {
		return false, fmt.Errorf("create %s %s: %w", kind, key, err)
	}
	inserted, err := tx.Apply(ctx, Writes{Op: OpInsert, Row: row, Created: created, Refs: refs, SetRefs: true, Change: change})
	if err != nil {
		return false, fmt.Errorf("create %s %s: %w", kind, key, err)
	}
	if !inserted {
		return false, fmt.Errorf("create %s %s: %w", kind, key, ErrAlreadyExists)
	}
	return row.Secret != nil, nil
}

// updateIn replaces the stored object in tx with the semantics of Store.Update and reports
// whether a secret is stored with it. Setting deletionTimestamp, or changing the spec of a kind
// whose spec is frozen while in use (SpecFrozenInUse), fails with an *InUseError while other
// objects refer to the object; a spec change whose new references name objects
// that do not exist or are being deleted fails with a *ReferenceError. An update that keeps
// the spec, such as a status write, reads and locks nothing but the object's own row.
func (c Codec) updateIn(ctx context.Context, tx WriteTx, obj v1alpha1.Object) (bool, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	deleted := obj.GetMetadata().DeletionTimestamp
	frozen := SpecFrozenInUse(kind)
	stored, err := tx.Lock(ctx, kind, key, deleted != nil || frozen)
	if err != nil {
		return false, fmt.Errorf("update %s %s: %w", kind, key, err)
	}
	pending, err := c.prepareUpdate(obj, stored.Row, stored.Created)
	if err != nil {
		return false, err
	}
	if (deleted != nil || frozen && pending.changed) && !stored.Deleting {
		if err := refuseInUse(ctx, tx, kind, key); err != nil {
			var ie *InUseError
			if errors.As(err, &ie) {
				ie.SpecFrozen = deleted == nil
			}
			return false, fmt.Errorf("update %s %s: %w", kind, key, err)
		}
	}
	var refs []v1alpha1.Ref
	refsChanged := false
	if pending.changed {
		if refs, refsChanged, err = changedRefs(ctx, tx, obj); err != nil {
			return false, fmt.Errorf("update %s %s: %w", kind, key, err)
		}
	}
	rv, err := tx.NextResourceVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("update %s %s: %w", kind, key, err)
	}
	row, err := pending.finish(rv)
	if err != nil {
		return false, err
	}
	change, err := changeRow(ChangeModified, obj, row, rv)
	if err != nil {
		return false, fmt.Errorf("update %s %s: %w", kind, key, err)
	}
	w := Writes{Op: OpUpdate, Row: row, Deleted: deleted, Refs: refs, SetRefs: refsChanged, Change: change}
	if _, err := tx.Apply(ctx, w); err != nil {
		return false, fmt.Errorf("update %s %s: %w", kind, key, err)
	}
	return row.Secret != nil, nil
}

// deleteIn removes kind/key in tx with the semantics of Store.Delete. It fails with an
// *InUseError while other objects refer to it.
func (c Codec) deleteIn(ctx context.Context, tx WriteTx, kind, key, resourceVersion string) error {
	stored, err := tx.Lock(ctx, kind, key, true)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	if resourceVersion != "" && resourceVersion != strconv.FormatInt(stored.ResourceVersion, 10) {
		return fmt.Errorf("delete %s %s: resourceVersion %q, stored %d: %w",
			kind, key, resourceVersion, stored.ResourceVersion, ErrConflict)
	}
	if err := refuseInUse(ctx, tx, kind, key); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	rv, err := tx.NextResourceVersion(ctx)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	last, err := c.Decode(stored.Row)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	change, err := changeRow(ChangeDeleted, last, stored.Row, rv)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	if _, err := tx.Apply(ctx, Writes{Op: OpDelete, Row: stored.Row, SetRefs: true, Change: change}); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	return nil
}

// lockTargets checks that refs name objects that exist and are not being deleted, and keeps
// them so until the transaction ends.
func lockTargets(ctx context.Context, tx WriteTx, kind, key string, refs []v1alpha1.Ref) error {
	if len(refs) == 0 {
		return nil
	}
	found, err := tx.Targets(ctx, refs)
	if err != nil {
		return fmt.Errorf("read the referenced objects: %w", err)
	}
	return checkTargets(kind, key, refs, found)
}

// changedRefs compares obj's references with the stored ones and, when they differ, checks
// and locks the objects it now refers to in addition.
func changedRefs(ctx context.Context, tx WriteTx, obj v1alpha1.Object) ([]v1alpha1.Ref, bool, error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	refs := refsOf(obj)
	old, err := tx.RefsFrom(ctx, kind, key)
	if err != nil {
		return nil, false, fmt.Errorf("read references: %w", err)
	}
	if slices.Equal(old, refs) {
		return refs, false, nil
	}
	if err := lockTargets(ctx, tx, kind, key, addedRefs(old, refs)); err != nil {
		return nil, false, err
	}
	return refs, true, nil
}

// refuseInUse returns an *InUseError when other objects refer to kind/key.
func refuseInUse(ctx context.Context, tx WriteTx, kind, key string) error {
	users, err := tx.Referrers(ctx, kind, key)
	if err != nil {
		return fmt.Errorf("read referrers: %w", err)
	}
	if len(users) > 0 {
		return &InUseError{Kind: kind, Key: key, Referrers: users}
	}
	return nil
}
