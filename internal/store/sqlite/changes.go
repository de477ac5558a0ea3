package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// changeTimeFormat keeps the time of a change at a fixed width, so that its text sorts as the
// time does.
const changeTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// appendChange adds c to the change feed.
func (w writeTx) appendChange(ctx context.Context, c store.ChangeRow) error {
	_, err := w.tx.ExecContext(ctx, `INSERT INTO changes (resource_version, type, kind, key, data, time)
		VALUES (?, ?, ?, ?, ?, ?)`,
		c.ResourceVersion, c.Type, c.Kind, c.Key, string(c.Data), c.Time.UTC().Format(changeTimeFormat))
	return err
}

// pruneChanges drops the changes committed before before and moves the horizon past them.
func pruneChanges(ctx context.Context, tx *sql.Tx, before time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE change_horizon SET resource_version = max(resource_version,
		coalesce((SELECT max(resource_version) FROM changes WHERE time < ?), 0))`,
		before.UTC().Format(changeTimeFormat)); err != nil {
		return fmt.Errorf("prune changes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM changes
		WHERE resource_version <= (SELECT resource_version FROM change_horizon)`); err != nil {
		return fmt.Errorf("prune changes: %w", err)
	}
	return nil
}

// PruneChanges implements store.Store.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) error {
	return s.write(ctx, "prune changes", func(tx writeTx) error { return pruneChanges(ctx, tx.tx, before) })
}

// ResourceVersion implements store.Store.
func (s *Store) ResourceVersion(ctx context.Context) (int64, error) {
	rv, err := currentResourceVersion(ctx, s.reader)
	if err != nil {
		return 0, fmt.Errorf("read the resourceVersion: %w", err)
	}
	return rv, nil
}

// rowQuerier is a database or a transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func currentResourceVersion(ctx context.Context, q rowQuerier) (int64, error) {
	var rv int64
	err := q.QueryRowContext(ctx, `SELECT value FROM resource_version WHERE id = 1`).Scan(&rv)
	return rv, err
}

// Changes implements store.Store. The horizon and the changes are read in one transaction,
// which sees one snapshot of the database.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit < 0 {
		return nil, fmt.Errorf("read changes: negative limit %d", limit)
	}
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read changes: begin: %w", err)
	}
	defer tx.Rollback()
	var horizon int64
	if err := tx.QueryRowContext(ctx, `SELECT resource_version FROM change_horizon WHERE id = 1`).Scan(&horizon); err != nil {
		return nil, fmt.Errorf("read changes: horizon: %w", err)
	}
	if err := store.CheckHorizon(after, horizon); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	query := `SELECT resource_version, type, kind, key, data FROM changes
		WHERE resource_version > ? ORDER BY resource_version`
	args := []any{after}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var r store.ChangeRow
		var data string
		if err := rows.Scan(&r.ResourceVersion, &r.Type, &r.Kind, &r.Key, &data); err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		r.Data = []byte(data)
		c, err := store.DecodeChange(r)
		if err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// Changed implements store.Store.
func (s *Store) Changed() <-chan struct{} { return s.changed.C() }
