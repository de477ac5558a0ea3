package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// auditTimeFormat keeps audit times as UTC text of fixed width, which sorts as the times do
// (RFC 3339 with trimmed fractions does not: "...:05Z" sorts after "...:05.1Z").
const auditTimeFormat = "2006-01-02T15:04:05.000000Z"

// RecordAudit implements store.Store: the insert and the prune of the records that fall
// store.MaxAuditRecords behind it are one transaction.
func (s *Store) RecordAudit(ctx context.Context, rec store.AuditRecord) error {
	if err := store.PrepareAudit(&rec); err != nil {
		return err
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record audit: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO audit (time, principal, verb, kind, key, method, path, source_ip, code, result, reason, dry_run)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.Time.Format(auditTimeFormat), rec.User, rec.Verb, rec.Kind, rec.Key, rec.Method, rec.Path, rec.SourceIP,
		rec.Code, rec.Result, rec.Reason, rec.DryRun)
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("record audit: read the id: %w", err)
	}
	if id > store.MaxAuditRecords {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE id IN (
			SELECT id FROM audit WHERE id <= ? ORDER BY id LIMIT ?)`,
			id-store.MaxAuditRecords, store.AuditPruneBatch); err != nil {
			return fmt.Errorf("record audit: prune: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record audit: commit: %w", err)
	}
	return nil
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	where, args, err := store.AuditFilter(q, func(int) string { return "?" },
		func(t time.Time) any { return t.Format(auditTimeFormat) })
	if err != nil {
		return store.AuditPage{}, err
	}
	query := `SELECT id, time, principal, verb, kind, key, method, path, source_ip, code, result, reason, dry_run
		FROM audit` + where + ` ORDER BY id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit+1) // one more tells whether older records follow
	}
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var rec store.AuditRecord
		var at string
		if err := rows.Scan(&rec.ID, &at, &rec.User, &rec.Verb, &rec.Kind, &rec.Key, &rec.Method, &rec.Path,
			&rec.SourceIP, &rec.Code, &rec.Result, &rec.Reason, &rec.DryRun); err != nil {
			return store.AuditPage{}, fmt.Errorf("list audit: %w", err)
		}
		if rec.Time, err = time.Parse(auditTimeFormat, at); err != nil {
			return store.AuditPage{}, fmt.Errorf("list audit: record %d time: %w", rec.ID, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	return store.AuditPageOf(out, q.Limit), nil
}
