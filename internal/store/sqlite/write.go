package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// writeTx is a store.WriteTx on the writer connection. Its transaction holds SQLite's write
// lock from its first statement (BEGIN IMMEDIATE), so no other write runs beside it: the row
// locks store.WriteTx asks for are implied.
type writeTx struct{ tx *sql.Tx }

var _ store.WriteTx = writeTx{}

// write runs fn in a write transaction and commits it when fn succeeds. what names the write
// in the errors of the transaction; fn's errors are returned as they are.
func (s *Store) write(ctx context.Context, what string, fn func(tx writeTx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(writeTx{tx}); err != nil {
		return err
	}
	if now := time.Now(); s.pruneDue.Now(now) {
		if err := pruneChanges(ctx, tx, now.Add(-store.ChangeRetention)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	s.changed.Notify()
	return nil
}

// transact runs fn in a write transaction: the store.Transact of Create, Update and Delete.
func (s *Store) transact(ctx context.Context, what string, fn func(store.WriteTx) error) error {
	return s.write(ctx, what, func(tx writeTx) error { return fn(tx) })
}

func (w writeTx) Lock(ctx context.Context, kind, key string, _ bool) (store.StoredRow, error) {
	stored := store.StoredRow{Row: store.Row{Kind: kind, Key: key}}
	var createdAt, data string
	err := w.tx.QueryRowContext(ctx, `SELECT uid, generation, resource_version, created_at,
		deleted_at IS NOT NULL, data, secret FROM objects WHERE kind = ? AND key = ?`, kind, key).
		Scan(&stored.UID, &stored.Generation, &stored.ResourceVersion, &createdAt, &stored.Deleting, &data, &stored.Secret)
	if errors.Is(err, sql.ErrNoRows) {
		return stored, store.ErrNotFound
	}
	if err != nil {
		return stored, err
	}
	if stored.Created, err = time.Parse(timeFormat, createdAt); err != nil {
		return stored, fmt.Errorf("stored creation time: %w", err)
	}
	stored.Data = []byte(data)
	return stored, nil
}

func (w writeTx) Targets(ctx context.Context, refs []v1alpha1.Ref) (map[v1alpha1.Ref]store.TargetState, error) {
	found := map[v1alpha1.Ref]store.TargetState{}
	for _, r := range refs {
		var deleting bool
		err := w.tx.QueryRowContext(ctx, `SELECT deleted_at IS NOT NULL FROM objects WHERE kind = ? AND key = ?`,
			r.Kind, r.Key).Scan(&deleting)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		case deleting:
			found[r] = store.TargetDeleting
		default:
			found[r] = store.TargetPresent
		}
	}
	return found, nil
}

func (w writeTx) RefsFrom(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error) {
	return queryRefs(ctx, w.tx, `SELECT target_kind, target_key FROM refs WHERE kind = ? AND key = ?
		ORDER BY target_kind, target_key`, kind, key)
}

func (w writeTx) Referrers(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error) {
	return referrers(ctx, w.tx, kind, key)
}

// queryer is a database or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func referrers(ctx context.Context, q queryer, kind, key string) ([]v1alpha1.Ref, error) {
	return queryRefs(ctx, q, `SELECT kind, key FROM refs WHERE target_kind = ? AND target_key = ?
		ORDER BY kind, key`, kind, key)
}

// queryRefs reads (kind, key) rows.
func queryRefs(ctx context.Context, q queryer, query string, args ...any) ([]v1alpha1.Ref, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []v1alpha1.Ref
	for rows.Next() {
		var r v1alpha1.Ref
		if err := rows.Scan(&r.Kind, &r.Key); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (w writeTx) NextResourceVersion(ctx context.Context) (int64, error) {
	return nextResourceVersion(ctx, w.tx)
}

// Apply implements store.WriteTx: one statement after the other, in the transaction that
// holds SQLite's write lock.
func (w writeTx) Apply(ctx context.Context, wr store.Writes) (bool, error) {
	switch wr.Op {
	case store.OpInsert:
		if inserted, err := w.insert(ctx, wr.Row, wr.Created); err != nil || !inserted {
			return false, err
		}
	case store.OpUpdate:
		if err := w.update(ctx, wr.Row, wr.Deleted); err != nil {
			return false, err
		}
	case store.OpDelete:
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM objects WHERE kind = ? AND key = ?`, wr.Row.Kind, wr.Row.Key); err != nil {
			return false, err
		}
	default:
		return false, fmt.Errorf("unknown write %d", wr.Op)
	}
	if wr.SetRefs {
		if err := w.setRefs(ctx, wr.Row.Kind, wr.Row.Key, wr.Refs); err != nil {
			return false, fmt.Errorf("references: %w", err)
		}
	}
	if err := w.appendChange(ctx, wr.Change); err != nil {
		return false, fmt.Errorf("change feed: %w", err)
	}
	return true, nil
}

func (w writeTx) insert(ctx context.Context, row store.Row, created time.Time) (bool, error) {
	res, err := w.tx.ExecContext(ctx, `INSERT INTO objects
		(kind, key, name, uid, generation, resource_version, created_at, deleted_at, data, secret)
		VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
		ON CONFLICT (kind, key) DO NOTHING`,
		row.Kind, row.Key, row.Name, row.UID, row.Generation, row.ResourceVersion, created.UTC().Format(timeFormat),
		string(row.Data), row.Secret)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (w writeTx) update(ctx context.Context, row store.Row, deleted *time.Time) error {
	_, err := w.tx.ExecContext(ctx, `UPDATE objects SET name = ?, generation = ?, resource_version = ?,
		deleted_at = ?, data = ?, secret = ? WHERE kind = ? AND key = ?`,
		row.Name, row.Generation, row.ResourceVersion, formatTime(deleted), string(row.Data), row.Secret,
		row.Kind, row.Key)
	return err
}

// setRefs replaces the stored references of kind/key with refs.
func (w writeTx) setRefs(ctx context.Context, kind, key string, refs []v1alpha1.Ref) error {
	if _, err := w.tx.ExecContext(ctx, `DELETE FROM refs WHERE kind = ? AND key = ?`, kind, key); err != nil {
		return err
	}
	for _, r := range refs {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO refs (kind, key, target_kind, target_key) VALUES (?, ?, ?, ?)`,
			kind, key, r.Kind, r.Key); err != nil {
			return err
		}
	}
	return nil
}

// fillRefs writes the references of every stored object: migration 4 made the table they go in.
func fillRefs(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT kind, key, data FROM objects`)
	if err != nil {
		return err
	}
	type object struct {
		kind, key string
		refs      []v1alpha1.Ref
	}
	var objs []object
	for rows.Next() {
		var o object
		var data string
		if err := rows.Scan(&o.kind, &o.key, &data); err != nil {
			rows.Close()
			return err
		}
		if o.refs, err = store.RefsOfData(o.kind, []byte(data)); err != nil {
			rows.Close()
			return fmt.Errorf("%s %s: %w", o.kind, o.key, err)
		}
		objs = append(objs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	w := writeTx{tx}
	for _, o := range objs {
		if err := w.setRefs(ctx, o.kind, o.key, o.refs); err != nil {
			return err
		}
	}
	return nil
}

// resealSecrets seals the secrets that objects written before they were write-only still hold
// in their JSON (a gateway's proxy passwords).
// The space the plain text took is zeroed (secure_delete), and once the migration commits,
// migrate checkpoints the WAL so that no old copy of a page remains in it.
func (s *Store) resealSecrets(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return err
	}
	defer tx.ExecContext(ctx, `PRAGMA secure_delete = OFF`)
	rows, err := tx.QueryContext(ctx, `SELECT kind, key, data FROM objects WHERE secret IS NULL AND kind = ?`,
		v1alpha1.KindPrivateCloudGateway)
	if err != nil {
		return err
	}
	var resealed []store.Row
	for rows.Next() {
		var row store.Row
		var data string
		if err := rows.Scan(&row.Kind, &row.Key, &data); err != nil {
			rows.Close()
			return err
		}
		row.Data = []byte(data)
		out, ok, err := s.codec.Reseal(row)
		if err != nil {
			rows.Close()
			return fmt.Errorf("%s %s: %w", row.Kind, row.Key, err)
		}
		if ok {
			resealed = append(resealed, out)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	s.resealed += len(resealed)
	for _, row := range resealed {
		if _, err := tx.ExecContext(ctx, `UPDATE objects SET data = ?, secret = ? WHERE kind = ? AND key = ?`,
			string(row.Data), row.Secret, row.Kind, row.Key); err != nil {
			return fmt.Errorf("%s %s: %w", row.Kind, row.Key, err)
		}
	}
	return nil
}
