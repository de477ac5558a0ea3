package apikey

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewParseCheck(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	token, rec, err := New(nil, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, secret, err := Parse(token)
	if err != nil || id != rec.ID {
		t.Fatalf("Parse(%q) = %q, %v; want id %q", token, id, err, rec.ID)
	}
	if strings.Contains(rec.Hash, secret) || strings.Contains(rec.ID, secret) {
		t.Fatal("the record holds the secret")
	}
	other, _, _ := New(nil, now.Add(time.Hour))
	last := "a"
	if strings.HasSuffix(secret, "a") {
		last = "b"
	}
	_, otherSecret, _ := Parse(other)
	revoked := rec
	revoked.Revoked = true
	tests := []struct {
		name   string
		rec    Record
		secret string
		at     time.Time
		want   error
	}{
		{"valid", rec, secret, now, nil},
		{"another key's secret", rec, otherSecret, now, ErrMismatch},
		{"a secret one letter off", rec, secret[:len(secret)-1] + last, now, ErrMismatch},
		{"revoked", revoked, secret, now, ErrRevoked},
		{"at its expiry", rec, secret, now.Add(time.Hour), ErrExpired},
		{"after its expiry", rec, secret, now.Add(2 * time.Hour), ErrExpired},
		{"revoked and a wrong secret", revoked, otherSecret, now, ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rec.Check(tt.secret, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewIsRandom(t *testing.T) {
	zeros := bytes.NewReader(make([]byte, 42))
	a, _, err := New(zeros, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := New(nil, time.Now())
	if a == b {
		t.Fatal("two keys are equal")
	}
	if _, _, err := New(bytes.NewReader(make([]byte, 5)), time.Now()); err == nil {
		t.Fatal("a short random source gave a key")
	}
}

func TestParse(t *testing.T) {
	for _, tok := range []string{"", "strata_", "strata_abc", "strata__secret", "strata_abc_", "other_abc_def", "strata_abc_de_f", "Bearer strata_a_b"} {
		if _, _, err := Parse(tok); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", tok, err)
		}
	}
}

func TestCheckExpiry(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		expires time.Time
		wantErr string
	}{
		{"in a day", now.Add(24 * time.Hour), ""},
		{"at the maximum", now.Add(30 * 24 * time.Hour), ""},
		{"none", time.Time{}, "required"},
		{"now", now, "not in the future"},
		{"past", now.Add(-time.Minute), "not in the future"},
		{"beyond the maximum", now.Add(30*24*time.Hour + time.Second), "maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckExpiry(tt.expires, now, 30*24*time.Hour)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("CheckExpiry = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   string
		ok     bool
	}{
		{"ApiKey header", http.Header{"Apikey": {"strata_a_b"}}, "strata_a_b", true},
		{"bearer", http.Header{"Authorization": {"Bearer strata_a_b"}}, "strata_a_b", true},
		{"bearer, any case", http.Header{"Authorization": {"bearer strata_a_b"}}, "strata_a_b", true},
		{"a JWT bearer", http.Header{"Authorization": {"Bearer eyJhbGciOi.x.y"}}, "", false},
		{"basic", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, "", false},
		{"none", http.Header{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromRequest(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("FromRequest = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRecordUse(t *testing.T) {
	now := time.Now()
	tests := []struct {
		last time.Time
		want bool
	}{
		{time.Time{}, true},
		{now.Add(-time.Second), false},
		{now.Add(-time.Minute), true},
	}
	for _, tt := range tests {
		if got := RecordUse(tt.last, now, time.Minute); got != tt.want {
			t.Errorf("RecordUse(%v) = %v, want %v", tt.last, got, tt.want)
		}
	}
}
