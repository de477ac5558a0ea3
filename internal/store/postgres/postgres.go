// Package postgres is the store for several strata servers sharing one PostgreSQL database,
// through pgx/v5.
//
// The tables live in the first schema of the connection's search_path, which may be given in the
// URL (postgres://host/db?search_path=myschema): pgx sends unknown URL parameters as run-time
// parameters.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store in a PostgreSQL database.
type Store struct {
	codec store.Codec
	pool  *pgxpool.Pool
	// schema is the schema of the tables, which keys the lock that orders the writes and the
	// notifications of the change feed.
	schema string
	// changed is notified after each write this store commits, and when another server's
	// write is notified.
	changed store.Signal
	// pruneDue spaces the prunes of the change feed.
	pruneDue store.PruneDue
	// listenOnce starts the listener; closing ends it and listening waits for it.
	listenOnce sync.Once
	listening  sync.WaitGroup
	closing    context.Context
	close      context.CancelFunc
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url, applies the migrations it lacks, and returns a store
// that seals secrets with sealer.
func Open(ctx context.Context, url string, sealer *secrets.Sealer) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("open postgres store: no secret sealer")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err) // pgx redacts the password
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s := &Store{codec: store.Codec{Sealer: sealer}, pool: pool}
	s.closing, s.close = context.WithCancel(context.Background())
	if err := pool.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres store: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate postgres database: %w", err)
	}
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&s.schema); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres store: read the schema: %w", err)
	}
	return s, nil
}

// migrate applies, each in its own transaction, the embedded migrations not yet recorded in
// schema_migrations. A transaction-scoped advisory lock, keyed by the schema, makes servers
// starting together apply each migration once.
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
	return nil
}

// fillStep is what runs after the SQL of the migration of a version, in its transaction, to fill
// what SQL alone cannot; nil for most versions.
func (s *Store) fillStep(version int) func(context.Context, pgx.Tx) error {
	switch version {
	case 4:
		return fillRefs
	case 6:
		return s.resealSecrets
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, version int, body string, fill func(context.Context, pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("read current schema: %w", err)
		}
		if schema == nil {
			return errors.New("no schema of the search_path exists")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"strata.migrate."+*schema); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var applied bool
		if err := tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&applied); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if applied {
			return nil
		}
		if _, err := tx.Exec(ctx, body, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		if fill != nil {
			if err := fill(ctx, tx); err != nil {
				return fmt.Errorf("fill: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		return nil
	})
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, obj v1alpha1.Object) error {
	return s.codec.Create(ctx, s.transact, obj)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	row := store.Row{Kind: kind, Key: key}
	var data string
	err := s.pool.QueryRow(ctx, `SELECT data, secret FROM objects WHERE kind = $1 AND key = $2`,
		kind, key).Scan(&data, &row.Secret)
	if errors.Is(err, pgx.ErrNoRows) {
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

// List implements store.Store. The page and its resourceVersion are read in one snapshot.
func (s *Store) List(ctx context.Context, kind string, opts store.ListOptions) (store.ListResult, error) {
	if opts.Limit < 0 {
		return store.ListResult{}, fmt.Errorf("list %s: negative limit %d", kind, opts.Limit)
	}
	query := `SELECT key, data, secret FROM objects WHERE kind = $1 AND key > $2`
	args := []any{kind, opts.Continue}
	if opts.Name != "" {
		args = append(args, opts.Name)
		query += ` AND name = $` + strconv.Itoa(len(args))
	}
	query += ` ORDER BY key`
	if opts.Limit > 0 {
		args = append(args, opts.Limit+1) // one more tells whether a next page exists
		query += ` LIMIT $` + strconv.Itoa(len(args))
	}
	var res store.ListResult
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		var rv int64
		if err := tx.QueryRow(ctx, currentRV).Scan(&rv); err != nil {
			return fmt.Errorf("resourceVersion: %w", err)
		}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if res, err = s.codec.ListPage(kind, rows, opts.Limit); err != nil {
			return err
		}
		rows.Close()
		res.ResourceVersion = rv
		return rows.Err()
	})
	if err != nil {
		return store.ListResult{}, fmt.Errorf("list %s: %w", kind, err)
	}
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
	refs, err := referrers(ctx, s.pool, kind, key)
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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialize the writers of one object's events, so that each prune sees every
		// event committed before it and the bound holds under concurrent writers.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`,
			"strata.events."+ev.Kind, ev.Key); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO events (kind, key, uid, type, reason, message, time)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			ev.Kind, ev.Key, ev.UID, ev.Type, ev.Reason, ev.Message, ev.Time); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM events WHERE kind = $1 AND key = $2 AND id <= (
			SELECT id FROM events WHERE kind = $1 AND key = $2 ORDER BY id DESC LIMIT 1 OFFSET $3)`,
			ev.Kind, ev.Key, store.MaxEventsPerObject); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record event for %s %s: %w", ev.Kind, ev.Key, err)
	}
	return nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, kind, key, uid string) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT uid, type, reason, message, time FROM events
		WHERE kind = $1 AND key = $2 AND ($3 = '' OR uid = $3) ORDER BY id`, kind, key, uid)
	if err != nil {
		return nil, fmt.Errorf("list events of %s %s: %w", kind, key, err)
	}
	defer rows.Close()
	var events []store.Event
	for rows.Next() {
		ev := store.Event{Kind: kind, Key: key}
		if err := rows.Scan(&ev.UID, &ev.Type, &ev.Reason, &ev.Message, &ev.Time); err != nil {
			return nil, fmt.Errorf("list events of %s %s: %w", kind, key, err)
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
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.close()
	s.listening.Wait()
	s.pool.Close()
	return nil
}
