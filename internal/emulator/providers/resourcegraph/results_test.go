package resourcegraph

import (
	"testing"
	"time"
)

func TestResultsKeptForTheNextPages(t *testing.T) {
	r := newResults()
	t0 := time.Unix(1000, 0)
	rows := []row{{"id": "a"}, {"id": "b"}}
	id := r.keep(rows, t0)
	if got, ok := r.get(id, t0.Add(resultTTL-time.Second)); !ok || len(got) != 2 {
		t.Errorf("within the TTL: %v, %t", got, ok)
	}
	if _, ok := r.get(id, t0.Add(resultTTL)); ok {
		t.Error("kept past the TTL")
	}
	if _, ok := r.get("", t0); ok {
		t.Error("a token without a result found one")
	}
	first := r.keep(rows, t0)
	for i := 1; i < maxResults; i++ {
		r.keep(rows, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if _, ok := r.get(first, t0); !ok {
		t.Fatal("evicted before the bound")
	}
	r.keep(rows, t0.Add(time.Second))
	if _, ok := r.get(first, t0); ok {
		t.Error("the oldest result was not evicted past maxResults")
	}
	if len(r.byID) > maxResults {
		t.Errorf("%d results kept, bound %d", len(r.byID), maxResults)
	}
}
