package store

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"version order, not name order", fstest.MapFS{
			"migrations/10_late.sql": {Data: []byte("b")}, "migrations/2_early.sql": {Data: []byte("a")}, "migrations/README": {},
		}, []int{2, 10}, ""},
		{"name without version", fstest.MapFS{"migrations/init.sql": {}}, nil, "must start with a version number"},
		{"two files, one version", fstest.MapFS{"migrations/1_a.sql": {}, "migrations/0001_b.sql": {}}, nil, "share version 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ReadMigrations(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1] {
				t.Fatalf("versions %v, want %v", got, tc.want)
			}
			if ms[0].SQL != "a" || ms[0].Name != "2_early.sql" {
				t.Fatalf("first migration %+v", ms[0])
			}
		})
	}
}
