package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/internal/store"
)

// notifyChannel is the channel on which a write tells the other servers that the change feed
// moved; the payload is the schema, so that servers of other schemas ignore it.
const notifyChannel = "strata_changes"

// listenRetry is how long the listener waits before it connects again after losing its
// connection.
const listenRetry = time.Second

// queueChange queues the statements that add c to the change feed and tell the other servers.
func (w writeTx) queueChange(b *pgx.Batch, c store.ChangeRow) {
	b.Queue(`INSERT INTO changes (resource_version, type, kind, key, data, time)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ResourceVersion, c.Type, c.Kind, c.Key, string(c.Data), c.Time)
	// Delivered when the transaction commits, once however many were sent.
	b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, w.schema)
}

// pruneChanges drops the changes committed before before and moves the horizon past them.
func pruneChanges(ctx context.Context, tx pgx.Tx, before time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE change_horizon SET resource_version = greatest(resource_version,
		coalesce((SELECT max(resource_version) FROM changes WHERE time < $1), 0))`, before); err != nil {
		return fmt.Errorf("prune changes: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM changes
		WHERE resource_version <= (SELECT resource_version FROM change_horizon)`); err != nil {
		return fmt.Errorf("prune changes: %w", err)
	}
	return nil
}

// PruneChanges implements store.Store.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) error {
	return s.write(ctx, "prune changes", func(tx writeTx) error { return pruneChanges(ctx, tx.tx, before) })
}

// currentRV is the resourceVersion of the last write committed: since resourceVersions are
// taken in the order of the commits, the newest change, or the horizon when all were pruned.
const currentRV = `SELECT greatest(coalesce((SELECT max(resource_version) FROM changes), 0),
	(SELECT resource_version FROM change_horizon))`

// ResourceVersion implements store.Store.
func (s *Store) ResourceVersion(ctx context.Context) (int64, error) {
	var rv int64
	if err := s.pool.QueryRow(ctx, currentRV).Scan(&rv); err != nil {
		return 0, fmt.Errorf("read the resourceVersion: %w", err)
	}
	return rv, nil
}

// snapshot runs fn in a read-only REPEATABLE READ transaction: every statement sees the same
// snapshot.
func (s *Store) snapshot(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// Changes implements store.Store.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit < 0 {
		return nil, fmt.Errorf("read changes: negative limit %d", limit)
	}
	var rows []store.ChangeRow
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		var horizon int64
		if err := tx.QueryRow(ctx, `SELECT resource_version FROM change_horizon WHERE id = 1`).Scan(&horizon); err != nil {
			return fmt.Errorf("horizon: %w", err)
		}
		if err := store.CheckHorizon(after, horizon); err != nil {
			return err
		}
		query := `SELECT resource_version, type, kind, key, data FROM changes
			WHERE resource_version > $1 ORDER BY resource_version`
		args := []any{after}
		if limit > 0 {
			query += ` LIMIT $2`
			args = append(args, limit)
		}
		res, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(res, func(row pgx.CollectableRow) (store.ChangeRow, error) {
			var r store.ChangeRow
			var data string
			err := row.Scan(&r.ResourceVersion, &r.Type, &r.Kind, &r.Key, &data)
			r.Data = []byte(data)
			return r, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	out := make([]store.Change, 0, len(rows))
	for _, r := range rows {
		c, err := store.DecodeChange(r)
		if err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Changed implements store.Store. The first call starts a connection that listens for the
// other servers' writes.
func (s *Store) Changed() <-chan struct{} {
	s.listenOnce.Do(func() {
		s.listening.Add(1)
		go s.listen()
	})
	return s.changed.C()
}

// listen notifies s.changed of every write another server commits in this schema, until the
// store is closed. When the connection breaks it connects again; the waiters are notified at
// each (re)connection, since writes may have been missed meanwhile.
func (s *Store) listen() {
	defer s.listening.Done()
	ctx := s.closing
	for ctx.Err() == nil {
		// A broken connection is only retried: readers of the feed poll it too, so a
		// notification missed meanwhile delays a change, it does not lose it.
		_ = s.listenConn(ctx)
		s.changed.Notify()
		select {
		case <-ctx.Done():
		case <-time.After(listenRetry):
		}
	}
}

// listenConn listens on one connection until it fails or ctx ends.
func (s *Store) listenConn(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	s.changed.Notify()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == s.schema {
			s.changed.Notify()
		}
	}
}
