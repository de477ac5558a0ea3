package postgres_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/postgres"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// storage is a schema of its own, dropped when the test ends.
type storage struct {
	schema string
	url    string
}

func newStorage(tb testing.TB) storage {
	tb.Helper()
	schema, url := storetest.PostgresSchema(tb)
	return storage{schema: schema, url: url}
}

func (st storage) Open(ctx context.Context, sealer *secrets.Sealer) (store.Store, error) {
	return postgres.Open(ctx, st.url, sealer)
}

// Dump reads every column of every row of every table of the schema in binary format: text as
// its UTF-8 bytes, bytea as its bytes.
func (st storage) Dump(t *testing.T) []byte {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, st.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, st.schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 3 {
		t.Fatalf("schema %s has tables %v, want objects, events and schema_migrations", st.schema, tables)
	}
	var out bytes.Buffer
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT * FROM "+pgx.Identifier{st.schema, table}.Sanitize(),
			pgx.QueryResultFormats{pgx.BinaryFormatCode})
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			for _, v := range rows.RawValues() {
				out.Write(v)
				out.WriteByte(0)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestStore runs the conformance suite, each test in a schema of its own. Everything that needs
// the server is under this one test, so that an unreachable server is reported once.
func TestStore(t *testing.T) {
	storetest.RequirePostgres(t)
	t.Run("SearchPath", testSearchPath)
	t.Run("KeyCollation", testKeyCollation)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), newStorage(t).url, storetest.NewSealer(t))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
	storetest.RunStorage(t, func(t *testing.T) storetest.Storage { return newStorage(t) })
	storetest.RunMigrations(t, func(t *testing.T) storetest.Legacy { return newStorage(t) })
	t.Run("AuditRetention", func(t *testing.T) {
		storetest.RunAuditRetention(t, func(t *testing.T) storetest.AuditStorage { return newStorage(t) })
	})
}

// testSearchPath checks that the tables are made in the schema named by search_path, not in
// public.
func testSearchPath(t *testing.T) {
	st := newStorage(t)
	s, err := st.Open(t.Context(), storetest.NewSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(t.Context(), storetest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = $1
		AND tablename IN ('objects', 'events', 'schema_migrations')`, st.schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d of the store's tables in schema %s, want 3", n, st.schema)
	}
}

// testKeyCollation checks that keys sort bytewise whatever the database's collation, as on
// SQLite. (The conformance suite's paging test sees the difference only on a database whose
// default collation is not C.)
func testKeyCollation(t *testing.T) {
	st := newStorage(t)
	s, err := st.Open(t.Context(), storetest.NewSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(t.Context(), st.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for _, table := range []string{"objects", "events"} {
		var collation *string
		if err := conn.QueryRow(t.Context(), `SELECT collation_name FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 AND column_name = 'key'`, st.schema, table).Scan(&collation); err != nil {
			t.Fatal(err)
		}
		if collation == nil || *collation != "C" {
			t.Errorf("%s.key has collation %v, want C", table, collation)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://strata:hunter2@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", storetest.NewSealer(t))
	if err == nil {
		t.Fatal("open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func openBench(b *testing.B) *postgres.Store {
	s, err := postgres.Open(b.Context(), newStorage(b).url, storetest.NewSealer(b))
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkGet(b *testing.B) { storetest.BenchGet(b, openBench(b)) }

func BenchmarkCreate(b *testing.B) { storetest.BenchCreate(b, openBench(b)) }

// TestMain runs the tests in a zone other than UTC, so that a time read back in the local zone
// instead of UTC is caught wherever the tests run.
func TestMain(m *testing.M) {
	time.Local = time.FixedZone("UTC+05:30", 5*3600+30*60)
	os.Exit(m.Run())
}
