package sqlite_test

import (
	"database/sql"
	"testing"

	"github.com/strata-dev/strata/internal/store/storetest"
)

// FillAudit inserts n records in one statement, as the retention test needs.
func (st storage) FillAudit(t *testing.T, n int) {
	t.Helper()
	st.exec(t, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO audit (time, principal, verb, kind, key, method, path, source_ip, code, result, reason, dry_run)
		SELECT '2020-01-01T00:00:00.000000Z', 'filler', 'get', 'Cluster', 'c' || i, 'GET', '/api/v1alpha1/clusters', '127.0.0.1', 200, 'allowed', '', 0
		FROM seq`, n)
}

// CountAudit counts the records and returns the smallest ID.
func (st storage) CountAudit(t *testing.T) (int, int64) {
	t.Helper()
	db, err := sql.Open("sqlite", st.path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var oldest sql.NullInt64
	if err := db.QueryRowContext(t.Context(), `SELECT count(*), min(id) FROM audit`).Scan(&n, &oldest); err != nil {
		t.Fatal(err)
	}
	return n, oldest.Int64
}

func TestAuditRetention(t *testing.T) {
	storetest.RunAuditRetention(t, func(t *testing.T) storetest.AuditStorage { return newStorage(t) })
}
