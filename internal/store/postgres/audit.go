package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/internal/store"
)

// RecordAudit implements store.Store: the insert and the prune of the records that fall
// store.MaxAuditRecords behind it are one transaction. IDs come from an identity column: a
// rolled-back insert leaves a gap, so the trail may keep a few records fewer than the bound,
// never more.
func (s *Store) RecordAudit(ctx context.Context, rec store.AuditRecord) error {
	if err := store.PrepareAudit(&rec); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO audit (time, principal, verb, kind, key, method, path, source_ip, code, result, reason, dry_run)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			rec.Time, rec.User, rec.Verb, rec.Kind, rec.Key, rec.Method, rec.Path, rec.SourceIP,
			rec.Code, rec.Result, rec.Reason, rec.DryRun).Scan(&id); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if id <= store.MaxAuditRecords {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM audit WHERE id IN (
			SELECT id FROM audit WHERE id <= $1 ORDER BY id LIMIT $2)`,
			id-store.MaxAuditRecords, store.AuditPruneBatch); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	where, args, err := store.AuditFilter(q, func(i int) string { return "$" + strconv.Itoa(i) },
		func(t time.Time) any { return t })
	if err != nil {
		return store.AuditPage{}, err
	}
	query := `SELECT id, time, principal, verb, kind, key, method, path, source_ip, code, result, reason, dry_run
		FROM audit` + where + ` ORDER BY id DESC`
	if q.Limit > 0 {
		args = append(args, q.Limit+1) // one more tells whether older records follow
		query += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var rec store.AuditRecord
		if err := rows.Scan(&rec.ID, &rec.Time, &rec.User, &rec.Verb, &rec.Kind, &rec.Key, &rec.Method, &rec.Path,
			&rec.SourceIP, &rec.Code, &rec.Result, &rec.Reason, &rec.DryRun); err != nil {
			return store.AuditPage{}, fmt.Errorf("list audit: %w", err)
		}
		rec.Time = rec.Time.UTC()
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	return store.AuditPageOf(out, q.Limit), nil
}
