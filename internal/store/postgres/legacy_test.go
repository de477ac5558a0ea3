package postgres_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// exec runs one statement in the storage's schema through a connection of its own.
func (st storage) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), st.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if len(args) == 0 {
		_, err = conn.Exec(t.Context(), query, pgx.QueryExecModeSimpleProtocol)
	} else {
		_, err = conn.Exec(t.Context(), query, args...)
	}
	if err != nil {
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
	st.exec(t, `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
	for _, m := range ms {
		if m.Version > version {
			break
		}
		st.exec(t, m.SQL)
		st.exec(t, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version)
	}
}

func (st storage) InsertObject(t *testing.T, obj v1alpha1.Object, rv int64) {
	t.Helper()
	m := obj.GetMetadata()
	st.exec(t, `INSERT INTO objects (kind, key, name, uid, generation, resource_version, created_at, data)
		VALUES ($1, $2, $3, $4, 1, $5, $6, $7)`, obj.GetTypeMeta().Kind, obj.Key(), m.Name, m.UID, rv,
		*m.CreationTimestamp, string(storetest.LegacyData(t, obj, rv)))
	st.exec(t, `SELECT setval('resource_version_seq', greatest($1::bigint, (SELECT last_value FROM resource_version_seq)))`, rv)
}

func (st storage) InsertEvent(t *testing.T, ev store.Event) {
	t.Helper()
	st.exec(t, `INSERT INTO events (kind, key, uid, type, reason, message, time) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.Kind, ev.Key, ev.UID, ev.Type, ev.Reason, ev.Message, ev.Time)
}
