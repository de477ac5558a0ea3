package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURL is the PostgreSQL server of the tests: $STRATA_TEST_POSTGRES (a URL or a
// keyword/value connection string), or a local one.
func PostgresURL() string {
	if u := os.Getenv("STRATA_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	reachOnce sync.Once
	reachErr  error
)

// RequirePostgres skips the test, or fails it under CI=true, when the tests' PostgreSQL cannot
// be reached. The server is tried once per test binary.
func RequirePostgres(tb testing.TB) {
	tb.Helper()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, PostgresURL())
		if err != nil {
			reachErr = err
			return
		}
		reachErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	if reachErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL is not reachable at %s: %v", redactedPostgresURL(), reachErr)
	}
	tb.Skipf("PostgreSQL is not reachable at %s (set STRATA_TEST_POSTGRES): %v", redactedPostgresURL(), reachErr)
}

// redactedPostgresURL is PostgresURL without its password, for messages.
func redactedPostgresURL() string {
	u, err := url.Parse(PostgresURL())
	if err != nil || !strings.Contains(PostgresURL(), "://") {
		return "the configured server"
	}
	return u.Redacted()
}

// PostgresSchema creates a schema of its own on the tests' PostgreSQL, dropped when the test
// ends, and returns its name and the connection string whose search_path selects it. Without
// PostgreSQL the test is skipped, or fails under CI=true (RequirePostgres).
func PostgresSchema(tb testing.TB) (schema, connString string) {
	tb.Helper()
	RequirePostgres(tb)
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		tb.Fatal(err)
	}
	schema = "strata_test_" + hex.EncodeToString(suffix)
	exec := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, PostgresURL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, stmt)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema, withSearchPath(tb, PostgresURL(), schema)
}

// withSearchPath adds search_path to a URL or keyword/value connection string.
func withSearchPath(tb testing.TB, raw, schema string) string {
	tb.Helper()
	if !strings.Contains(raw, "://") {
		return raw + " search_path=" + schema
	}
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatalf("$STRATA_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
