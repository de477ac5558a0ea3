package resourcegraph

import (
	"testing"
	"time"
)

func TestPagingTokens(t *testing.T) {
	rows := make([]row, 5)
	for i := range rows {
		rows[i] = row{"name": string(rune('a' + i))}
	}
	h := queryHash("Resources", []string{"S1", "s2"})
	if h != queryHash("Resources", []string{"s2", "s1"}) {
		t.Error("the hash depends on the order or casing of the subscriptions")
	}
	var got []row
	offset, pages := 0, 0
	for {
		pg, next := page(rows, offset, 2, h, "")
		got = append(got, pg...)
		pages++
		if next == "" {
			break
		}
		tok, err := decodeToken(next, h)
		o := tok.Offset
		if err != nil {
			t.Fatal(err)
		}
		offset = o
	}
	if pages != 3 || len(got) != 5 || got[4]["name"] != "e" {
		t.Fatalf("%d pages, rows %v", pages, got)
	}
	tok := encodeToken(2, h, "")
	if _, err := decodeToken(tok, queryHash("Resources | take 1", []string{"s1", "s2"})); err == nil {
		t.Error("a token of another query was accepted")
	}
	if _, err := decodeToken("not-a-token!", h); err == nil {
		t.Error("a malformed token was accepted")
	}
	if pg, next := page(rows, 9, 2, h, ""); len(pg) != 0 || next != "" {
		t.Errorf("past the end: %v %q", pg, next)
	}
}

func TestQuota(t *testing.T) {
	q := newQuota(3, 5*time.Second)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []int{2, 1, 0} {
		rem, resets, ok := q.take("a", t0.Add(time.Duration(i)*time.Second))
		if !ok || rem != want || resets != 5*time.Second-time.Duration(i)*time.Second {
			t.Fatalf("query %d: %d %v %v", i, rem, resets, ok)
		}
	}
	if rem, resets, ok := q.take("a", t0.Add(4500*time.Millisecond)); ok || rem != 0 || hhmmss(resets) != "00:00:01" {
		t.Fatalf("over the quota: %d %v %v", rem, resets, ok)
	}
	if _, _, ok := q.take("b", t0.Add(4500*time.Millisecond)); !ok {
		t.Error("another caller shares the quota")
	}
	if rem, _, ok := q.take("a", t0.Add(5*time.Second)); !ok || rem != 2 {
		t.Errorf("after the window: %d %v", rem, ok)
	}
	for d, want := range map[time.Duration]string{0: "00:00:00", 4200 * time.Millisecond: "00:00:05", 3725 * time.Second: "01:02:05"} {
		if got := hhmmss(d); got != want {
			t.Errorf("hhmmss(%v) = %s, want %s", d, got, want)
		}
	}
}
