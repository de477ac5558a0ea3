package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// writeTx is a store.WriteTx in a READ COMMITTED transaction. Writers of one object wait for
// each other on its row lock; a writer of a referrer holds its targets' rows FOR KEY SHARE,
// which a deleter's FOR UPDATE waits for (and the other way round), so that whichever commits
// first is seen by the other's next statement.
type writeTx struct {
	tx pgx.Tx
	// schema keys the lock that orders the writes, and the notifications.
	schema string
}

var _ store.WriteTx = writeTx{}

// write runs fn in a write transaction and commits it when fn succeeds. what names the write
// in the errors of the transaction; fn's errors are returned as they are.
func (s *Store) write(ctx context.Context, what string, fn func(tx writeTx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(writeTx{tx: tx, schema: s.schema}); err != nil {
		return err
	}
	if now := time.Now(); s.pruneDue.Now(now) {
		if err := pruneChanges(ctx, tx, now.Add(-store.ChangeRetention)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	s.changed.Notify()
	return nil
}

// transact runs fn in a write transaction: the store.Transact of Create, Update and Delete.
func (s *Store) transact(ctx context.Context, what string, fn func(store.WriteTx) error) error {
	return s.write(ctx, what, func(tx writeTx) error { return fn(tx) })
}

func (w writeTx) Lock(ctx context.Context, kind, key string, forDelete bool) (store.StoredRow, error) {
	// FOR UPDATE conflicts with the FOR KEY SHARE of a referrer's writer; FOR NO KEY UPDATE
	// lets those go on while holding other writes of the row.
	lock := "FOR NO KEY UPDATE"
	if forDelete {
		lock = "FOR UPDATE"
	}
	stored := store.StoredRow{Row: store.Row{Kind: kind, Key: key}}
	var data string
	err := w.tx.QueryRow(ctx, `SELECT uid::text, generation, resource_version, created_at,
		deleted_at IS NOT NULL, data, secret FROM objects WHERE kind = $1 AND key = $2 `+lock, kind, key).
		Scan(&stored.UID, &stored.Generation, &stored.ResourceVersion, &stored.Created, &stored.Deleting, &data, &stored.Secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return stored, store.ErrNotFound
	}
	if err != nil {
		return stored, err
	}
	stored.Data = []byte(data)
	return stored, nil
}

func (w writeTx) Targets(ctx context.Context, refs []v1alpha1.Ref) (map[v1alpha1.Ref]store.TargetState, error) {
	// One primary-key lookup per reference, all in one round trip, in the order of refs
	// (sorted), so that writers lock shared targets in the same order. Under READ COMMITTED a
	// locking read that waited for a deleter sees its outcome: a deleted row is not returned,
	// a row marked for deletion is returned as marked.
	b := &pgx.Batch{}
	found := map[v1alpha1.Ref]store.TargetState{}
	for _, r := range refs {
		b.Queue(`SELECT deleted_at IS NOT NULL FROM objects WHERE kind = $1 AND key = $2 FOR KEY SHARE`, r.Kind, r.Key).
			QueryRow(func(row pgx.Row) error {
				var deleting bool
				switch err := row.Scan(&deleting); {
				case errors.Is(err, pgx.ErrNoRows):
				case err != nil:
					return err
				case deleting:
					found[r] = store.TargetDeleting
				default:
					found[r] = store.TargetPresent
				}
				return nil
			})
	}
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return found, nil
}

func splitRefs(refs []v1alpha1.Ref) (kinds, keys []string) {
	for _, r := range refs {
		kinds = append(kinds, r.Kind)
		keys = append(keys, r.Key)
	}
	return kinds, keys
}

func (w writeTx) RefsFrom(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error) {
	return queryRefs(ctx, w.tx, `SELECT target_kind, target_key FROM refs WHERE kind = $1 AND key = $2
		ORDER BY target_kind, target_key`, kind, key)
}

func (w writeTx) Referrers(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error) {
	return referrers(ctx, w.tx, kind, key)
}

// rowsQuerier is a pool or a transaction.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func referrers(ctx context.Context, q rowsQuerier, kind, key string) ([]v1alpha1.Ref, error) {
	return queryRefs(ctx, q, `SELECT kind, key FROM refs WHERE target_kind = $1 AND target_key = $2
		ORDER BY kind, key`, kind, key)
}

// queryRefs reads (kind, key) rows.
func queryRefs(ctx context.Context, q rowsQuerier, query string, args ...any) ([]v1alpha1.Ref, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	refs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (v1alpha1.Ref, error) {
		var r v1alpha1.Ref
		err := row.Scan(&r.Kind, &r.Key)
		return r, err
	})
	if len(refs) == 0 {
		refs = nil
	}
	return refs, err
}

// NextResourceVersion takes the resourceVersion under a lock of the schema held until the
// transaction ends, so that writes commit in the order of their resourceVersions and a reader of
// the change feed never sees a later change before an earlier one. Every lock a write needs of
// a row is taken before, so no write waits for a row while holding it.
func (w writeTx) NextResourceVersion(ctx context.Context) (int64, error) {
	var rv int64
	err := w.tx.QueryRow(ctx, `SELECT nextval('resource_version_seq')
		FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS ordered`, "strata.writes."+w.schema).Scan(&rv)
	if err != nil {
		return 0, fmt.Errorf("next resourceVersion: %w", err)
	}
	return rv, nil
}

// Apply implements store.WriteTx: the statements go in one batch, one round trip.
func (w writeTx) Apply(ctx context.Context, wr store.Writes) (bool, error) {
	b := &pgx.Batch{}
	row := wr.Row
	switch wr.Op {
	case store.OpInsert:
		b.Queue(`INSERT INTO objects
			(kind, key, name, uid, generation, resource_version, created_at, deleted_at, data, secret)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)
			ON CONFLICT (kind, key) DO NOTHING`,
			row.Kind, row.Key, row.Name, row.UID, row.Generation, row.ResourceVersion, wr.Created, string(row.Data), row.Secret)
	case store.OpUpdate:
		b.Queue(`UPDATE objects SET name = $1, generation = $2, resource_version = $3,
			deleted_at = $4, data = $5, secret = $6 WHERE kind = $7 AND key = $8`,
			row.Name, row.Generation, row.ResourceVersion, utc(wr.Deleted), string(row.Data), row.Secret, row.Kind, row.Key)
	case store.OpDelete:
		b.Queue(`DELETE FROM objects WHERE kind = $1 AND key = $2`, row.Kind, row.Key)
	default:
		return false, fmt.Errorf("unknown write %d", wr.Op)
	}
	if wr.SetRefs {
		queueRefs(b, row.Kind, row.Key, wr.Refs)
	}
	w.queueChange(b, wr.Change)
	br := w.tx.SendBatch(ctx, b)
	tag, err := br.Exec()
	if err == nil && wr.Op == store.OpInsert && tag.RowsAffected() == 0 {
		_ = br.Close() // the key is taken: the caller does not commit
		return false, nil
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// queueRefs queues the statements that replace the stored references of kind/key with refs.
func queueRefs(b *pgx.Batch, kind, key string, refs []v1alpha1.Ref) {
	b.Queue(`DELETE FROM refs WHERE kind = $1 AND key = $2`, kind, key)
	if len(refs) > 0 {
		kinds, keys := splitRefs(refs)
		b.Queue(`INSERT INTO refs (kind, key, target_kind, target_key)
			SELECT $1, $2, * FROM unnest($3::text[], $4::text[])`, kind, key, kinds, keys)
	}
}

// fillRefs writes the references of every stored object: migration 4 made the table they go in.
func fillRefs(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT kind, key, data FROM objects`)
	if err != nil {
		return err
	}
	type object struct {
		kind, key string
		refs      []v1alpha1.Ref
	}
	objs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (object, error) {
		var o object
		var data string
		if err := row.Scan(&o.kind, &o.key, &data); err != nil {
			return o, err
		}
		o.refs, err = store.RefsOfData(o.kind, []byte(data))
		if err != nil {
			return o, fmt.Errorf("%s %s: %w", o.kind, o.key, err)
		}
		return o, nil
	})
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, o := range objs {
		queueRefs(b, o.kind, o.key, o.refs)
	}
	return tx.SendBatch(ctx, b).Close()
}

// resealSecrets seals the secrets that objects written before they were write-only still hold
// in their JSON (a gateway's proxy passwords).
func (s *Store) resealSecrets(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT kind, key, data FROM objects WHERE secret IS NULL AND kind = $1`,
		v1alpha1.KindPrivateCloudGateway)
	if err != nil {
		return err
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Row, error) {
		var row store.Row
		var data string
		err := r.Scan(&row.Kind, &row.Key, &data)
		row.Data = []byte(data)
		return row, err
	})
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, row := range stored {
		out, ok, err := s.codec.Reseal(row)
		if err != nil {
			return fmt.Errorf("%s %s: %w", row.Kind, row.Key, err)
		}
		if ok {
			b.Queue(`UPDATE objects SET data = $1, secret = $2 WHERE kind = $3 AND key = $4`,
				string(out.Data), out.Secret, out.Kind, out.Key)
		}
	}
	return tx.SendBatch(ctx, b).Close()
}
