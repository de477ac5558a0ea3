package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURL is the PostgreSQL server of the tests: $STRATA_TEST_POSTGRES, or a local one.
func PostgresURL() string {
	if u := os.Getenv("STRATA_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// PostgresSchema creates a schema of its own, dropped when the test ends, and returns the URL
// whose search_path selects it. Without PostgreSQL the test is skipped, or fails under CI=true.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("$STRATA_TEST_POSTGRES: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is not reachable at %s: %v", u.Redacted(), err)
		}
		tb.Skipf("PostgreSQL is not reachable at %s (set STRATA_TEST_POSTGRES): %v", u.Redacted(), err)
	}
	defer conn.Close(context.Background())
	schema := fmt.Sprintf("strata_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
