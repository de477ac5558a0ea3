// Package sqlite is the embedded store: one SQLite database file in WAL mode, through the pure
// Go driver modernc.org/sqlite.
//
// Writes go through a single connection that begins its transactions IMMEDIATE, so writers of
// this process queue in Go instead of spinning on SQLite's busy handler, and a transaction never
// has to upgrade a read lock (the cause of SQLITE_BUSY deadlocks). Writers of other processes
// wait up to the busy timeout. Reads use a pool of read-only connections, which WAL lets run
// beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a write waits for another process holding the database lock.
const busyTimeout = 10 * time.Second

// timeFormat is how timestamps are kept in TEXT columns: RFC 3339 in UTC, which sorts as text.
const timeFormat = time.RFC3339Nano

// Store is a store.Store in one SQLite database file.
type Store struct {
	codec  store.Codec
	writer *sql.DB // one connection, transactions BEGIN IMMEDIATE
	reader *sql.DB // read-only connections
	get    *sql.Stmt
	// changed is notified after each write this store commits.
	changed store.Signal
	// pruneDue spaces the prunes of the change feed.
	pruneDue store.PruneDue
	// resealed counts the rows whose plain-text secrets the migrations sealed at Open.
	resealed int
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it when missing) the database at path, applies the migrations it lacks,
// and returns a store that seals secrets with sealer.
func Open(ctx context.Context, path string, sealer *secrets.Sealer) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("open sqlite store: no secret sealer")
	}
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite store: invalid database path %q", path)
	}
	params := url.Values{}
	params.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	// FULL syncs the WAL at every commit, so that an acknowledged write survives a power loss
	// (reconcilers act on it in Azure). NORMAL would skip that sync: never corrupt, but the last
	// commits could roll back.
	params.Set("_synchronous", "FULL")
	params.Set("_foreign_keys", "1")
	params.Set("_txlock", "immediate")

	writer, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{codec: store.Codec{Sealer: sealer}, writer: writer}
	if err := s.setWAL(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate sqlite database %s: %w", path, err)
	}

	params.Del("_txlock")
	params.Set("_query_only", "1")
	reader, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	s.reader = reader
	conns := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(conns)
	reader.SetMaxIdleConns(conns)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	s.get, err = reader.PrepareContext(ctx,
		`SELECT data, secret FROM objects WHERE kind = ? AND key = ?`)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite database %s: prepare: %w", path, err)
	}
	return s, nil
}

// setWAL puts the database in WAL mode, which the file keeps. Switching a new database to WAL
// takes an exclusive lock for which SQLite does not wait: when another process (or store) opens
// the same new file at the same moment, it fails at once with SQLITE_BUSY, so it is retried
// until the busy timeout.
func (s *Store) setWAL(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := s.writer.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("set WAL mode: journal mode is still %q", mode)
		case !isBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("set WAL mode: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("set WAL mode: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// migrate applies, each in its own transaction, the embedded migrations not yet recorded in
// schema_migrations. BEGIN IMMEDIATE takes the database's write lock, so two processes opening
// the same file apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := store.ReadMigrations(migrations)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, m.Version, m.SQL, s.fillStep(m.Version)); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	// The reseal of plain-text secrets leaves the old pages in the WAL until a checkpoint:
	// write them back and empty the WAL now, once, when it rewrote rows.
	if s.resealed > 0 {
		if _, err := s.writer.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return fmt.Errorf("checkpoint after the migrations: %w", err)
		}
	}
	return nil
}

// fillStep is what runs after the SQL of the migration of a version, in its transaction, to fill
// what SQL alone cannot; nil for most versions.
func (s *Store) fillStep(version int) func(context.Context, *sql.Tx) error {
	switch version {
	case 4:
		return fillRefs
	case 6:
		return s.resealSecrets
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, version int, body string, fill func(context.Context, *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&applied); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if applied > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if fill != nil {
		if err := fill(ctx, tx); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		version, time.Now().UTC().Format(timeFormat)); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// nextResourceVersion takes the next value of the global counter inside tx.
func nextResourceVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rv int64
	err := tx.QueryRowContext(ctx,
		`UPDATE resource_version SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&rv)
	if err != nil {
		return 0, fmt.Errorf("next resourceVersion: %w", err)
	}
	return rv, nil
}

func formatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, obj v1alpha1.Object) error {
	return s.codec.Create(ctx, s.transact, obj)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	row := store.Row{Kind: kind, Key: key}
	var data string
	err := s.get.QueryRowContext(ctx, kind, key).Scan(&data, &row.Secret)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get %s %s: %w", kind, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", kind, key, err)
	}
	row.Data = []byte(data)
	obj, err := s.codec.Decode(row)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return obj, nil
}

// List implements store.Store. The page and its resourceVersion are read in one transaction,
// which sees one snapshot of the database.
func (s *Store) List(ctx context.Context, kind string, opts store.ListOptions) (store.ListResult, error) {
	if opts.Limit < 0 {
		return store.ListResult{}, fmt.Errorf("list %s: negative limit %d", kind, opts.Limit)
	}
	query := `SELECT key, data, secret FROM objects WHERE kind = ? AND key > ?`
	args := []any{kind, opts.Continue}
	if opts.Name != "" {
		query += ` AND name = ?`
		args = append(args, opts.Name)
	}
	query += ` ORDER BY key`
	if opts.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, opts.Limit+1) // one more tells whether a next page exists
	}
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return store.ListResult{}, fmt.Errorf("list %s: begin: %w", kind, err)
	}
	defer tx.Rollback()
	rv, err := currentResourceVersion(ctx, tx)
	if err != nil {
		return store.ListResult{}, fmt.Errorf("list %s: resourceVersion: %w", kind, err)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return store.ListResult{}, fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	res, err := s.codec.ListPage(kind, rows, opts.Limit)
	if err != nil {
		return store.ListResult{}, err
	}
	if err := rows.Err(); err != nil {
		return store.ListResult{}, fmt.Errorf("list %s: %w", kind, err)
	}
	res.ResourceVersion = rv
	return res, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, obj v1alpha1.Object) error {
	return s.codec.Update(ctx, s.transact, obj)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, kind, key, resourceVersion string) error {
	return s.codec.Delete(ctx, s.transact, kind, key, resourceVersion)
}

// Referrers implements store.Store.
func (s *Store) Referrers(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error) {
	refs, err := referrers(ctx, s.reader, kind, key)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s %s: %w", kind, key, err)
	}
	return refs, nil
}

// RecordEvent implements store.Store. An event without a time is stamped now; times are kept to
// the microsecond, in UTC.
func (s *Store) RecordEvent(ctx context.Context, ev store.Event) error {
	if err := store.PrepareEvent(&ev); err != nil {
		return err
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record event for %s %s: begin: %w", ev.Kind, ev.Key, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (kind, key, uid, type, reason, message, time)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.Kind, ev.Key, ev.UID, ev.Type, ev.Reason, ev.Message, ev.Time.Format(timeFormat)); err != nil {
		return fmt.Errorf("record event for %s %s: %w", ev.Kind, ev.Key, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE kind = ?1 AND key = ?2 AND id <= (
		SELECT id FROM events WHERE kind = ?1 AND key = ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3)`,
		ev.Kind, ev.Key, store.MaxEventsPerObject); err != nil {
		return fmt.Errorf("record event for %s %s: prune: %w", ev.Kind, ev.Key, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record event for %s %s: commit: %w", ev.Kind, ev.Key, err)
	}
	return nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, kind, key, uid string) ([]store.Event, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT uid, type, reason, message, time FROM events
		WHERE kind = ?1 AND key = ?2 AND (?3 = '' OR uid = ?3) ORDER BY id`, kind, key, uid)
	if err != nil {
		return nil, fmt.Errorf("list events of %s %s: %w", kind, key, err)
	}
	defer rows.Close()
	var events []store.Event
	for rows.Next() {
		ev := store.Event{Kind: kind, Key: key}
		var at string
		if err := rows.Scan(&ev.UID, &ev.Type, &ev.Reason, &ev.Message, &at); err != nil {
			return nil, fmt.Errorf("list events of %s %s: %w", kind, key, err)
		}
		if ev.Time, err = time.Parse(timeFormat, at); err != nil {
			return nil, fmt.Errorf("list events of %s %s: event time: %w", kind, key, err)
		}
		ev.Time = ev.Time.UTC()
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events of %s %s: %w", kind, key, err)
	}
	return events, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	var errs []error
	if s.get != nil {
		errs = append(errs, s.get.Close())
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}
