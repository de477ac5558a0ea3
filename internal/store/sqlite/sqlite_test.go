package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// storage is a database file in a test's temporary directory.
type storage struct{ path string }

func newStorage(t testing.TB) storage {
	return storage{path: filepath.Join(t.TempDir(), "strata.db")}
}

func (st storage) Open(ctx context.Context, sealer *secrets.Sealer) (store.Store, error) {
	return sqlite.Open(ctx, st.path, sealer)
}

// Dump reads every column of every row of every table through a connection of its own, then
// appends the bytes of the database files (main, WAL and shared memory).
func (st storage) Dump(t *testing.T) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", st.path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	var out bytes.Buffer
	for _, table := range tables {
		rows, err := db.QueryContext(t.Context(), fmt.Sprintf(`SELECT * FROM "%s"`, table))
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				out.Write(v)
				out.WriteByte(0)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(st.path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out.Write(data)
		out.WriteByte(0)
	}
	return out.Bytes()
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), newStorage(t).path, storetest.NewSealer(t))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
	storetest.RunStorage(t, func(t *testing.T) storetest.Storage { return newStorage(t) })
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", "db?mode=ro", "file:strata.db"} {
		if s, err := sqlite.Open(t.Context(), path, storetest.NewSealer(t)); err == nil {
			s.Close()
			t.Errorf("open %q succeeded", path)
		}
	}
	if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), nil); err == nil {
		t.Error("open without a sealer succeeded")
	}
}

func openBench(b *testing.B) *sqlite.Store {
	s, err := sqlite.Open(b.Context(), newStorage(b).path, storetest.NewSealer(b))
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
