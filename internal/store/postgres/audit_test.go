package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// FillAudit inserts n records in one statement, as the retention test needs.
func (st storage) FillAudit(t *testing.T, n int) {
	t.Helper()
	st.exec(t, `INSERT INTO audit (time, principal, verb, kind, key, method, path, source_ip, code, result, reason, dry_run)
		SELECT timestamptz '2020-01-01 00:00:00Z', 'filler', 'get', 'Cluster', 'c' || i, 'GET', '/api/v1alpha1/clusters', '127.0.0.1', 200, 'allowed', '', false
		FROM generate_series(1, $1::int) AS i ORDER BY i`, n)
}

// CountAudit counts the records and returns the smallest ID.
func (st storage) CountAudit(t *testing.T) (int, int64) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), st.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	var oldest *int64
	if err := conn.QueryRow(t.Context(), `SELECT count(*), min(id) FROM audit`).Scan(&n, &oldest); err != nil {
		t.Fatal(err)
	}
	if oldest == nil {
		return n, 0
	}
	return n, *oldest
}
