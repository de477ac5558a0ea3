package sqlite_test

import (
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// exec runs one statement on the database file through a connection of its own.
func (st storage) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", st.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// MigrateTo applies the migrations files up to version, as the store of that version did.
func (st storage) MigrateTo(t *testing.T, version int) {
	t.Helper()
	ms, err := store.ReadMigrations(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	st.exec(t, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`)
	for _, m := range ms {
		if m.Version > version {
			break
		}
		st.exec(t, m.SQL)
		st.exec(t, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UTC().Format(time.RFC3339Nano))
	}
}

func (st storage) InsertObject(t *testing.T, obj v1alpha1.Object, rv int64) {
	t.Helper()
	m := obj.GetMetadata()
	st.exec(t, `INSERT INTO objects (kind, key, name, uid, generation, resource_version, created_at, data)
		VALUES (?, ?, ?, ?, 1, ?, ?, ?)`, obj.GetTypeMeta().Kind, obj.Key(), m.Name, m.UID, rv,
		m.CreationTimestamp.UTC().Format(time.RFC3339Nano), string(storetest.LegacyData(t, obj, rv)))
	st.exec(t, `UPDATE resource_version SET value = max(value, ?)`, rv)
}

func (st storage) InsertEvent(t *testing.T, ev store.Event) {
	t.Helper()
	st.exec(t, `INSERT INTO events (kind, key, uid, type, reason, message, time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.Kind, ev.Key, ev.UID, ev.Type, ev.Reason, ev.Message, ev.Time.UTC().Format(time.RFC3339Nano))
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.Legacy { return newStorage(t) })
}
