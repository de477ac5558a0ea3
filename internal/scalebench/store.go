package scalebench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" driver, to read the store's size

	"github.com/strata-dev/strata/internal/provisionbench"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/postgres"
)

// storeInfo describes the run's store: its kind, how to measure its size and how to drop it.
type storeInfo struct {
	kind string
	size func(ctx context.Context) (int64, error)
	drop func()
}

// openStore opens SQLite in dir, or, with a PostgreSQL URL, a store in a new schema of that
// database, dropped by storeInfo.drop.
func openStore(ctx context.Context, dir, pgURL string) (store.Store, storeInfo, error) {
	if pgURL == "" {
		st, err := provisionbench.OpenStore(ctx, dir)
		info := storeInfo{kind: "SQLite", size: func(ctx context.Context) (int64, error) { return sqliteSize(ctx, dir+"/strata.db") }, drop: func() {}}
		return st, info, err
	}
	schema, connString, err := createSchema(ctx, pgURL)
	if err != nil {
		return nil, storeInfo{}, err
	}
	info := storeInfo{
		kind: "PostgreSQL",
		size: func(ctx context.Context) (int64, error) { return schemaSize(ctx, pgURL, schema) },
		drop: func() { _ = execPostgres(context.Background(), pgURL, "DROP SCHEMA "+schema+" CASCADE") },
	}
	key, err := secrets.LoadOrCreateKeyFile(dir + "/encryption.key")
	if err != nil {
		info.drop()
		return nil, storeInfo{}, fmt.Errorf("encryption key: %w", err)
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		info.drop()
		return nil, storeInfo{}, fmt.Errorf("encryption key: %w", err)
	}
	st, err := postgres.Open(ctx, connString, sealer)
	if err != nil {
		info.drop()
		return nil, storeInfo{}, err
	}
	return st, info, nil
}

// sqliteSize is the size of a SQLite database's pages in use (its file and write-ahead log
// hold the free pages of what was deleted too, until a VACUUM).
func sqliteSize(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("size of the store: %w", err)
	}
	defer db.Close()
	var pages, free, size int64
	for q, v := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
		if err := db.QueryRowContext(ctx, q).Scan(v); err != nil {
			return 0, fmt.Errorf("size of the store: %s: %w", q, err)
		}
	}
	return (pages - free) * size, nil
}

// createSchema makes a schema of its own in the database of pgURL and returns its name and
// the URL whose search_path selects it.
func createSchema(ctx context.Context, pgURL string) (schema, connString string, err error) {
	u, err := url.Parse(pgURL)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", "", fmt.Errorf("--postgres: want a postgres:// URL")
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	schema = "strata_scale_" + hex.EncodeToString(suffix)
	if err := execPostgres(ctx, pgURL, "CREATE SCHEMA "+schema); err != nil {
		return "", "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String(), nil
}

// schemaSize is the size of a schema's tables, their indexes and TOAST included.
func schemaSize(ctx context.Context, pgURL, schema string) (int64, error) {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0, fmt.Errorf("size of the store: %w", err)
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`, schema).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("size of the store: %w", err)
	}
	return n, nil
}

// execPostgres runs one statement on a connection of its own.
func execPostgres(ctx context.Context, pgURL, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}
