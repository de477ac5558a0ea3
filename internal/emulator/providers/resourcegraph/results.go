package resourcegraph

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Results of paged queries are kept so that the next pages come from the rows of the first:
// rendering the whole cloud once per page made a snapshot of n resources cost n × pages renders.
const (
	// resultTTL is how long the rows of a paged query are kept for its next pages.
	resultTTL = time.Minute
	// maxResults bounds the results kept; the oldest goes first.
	maxResults = 32
)

// results keeps the rows of paged queries by an ID their $skipTokens carry.
type results struct {
	mu   sync.Mutex
	byID map[string]keptResult
	kept uint64 // results kept so far, to order them
}

type keptResult struct {
	rows    []row
	expires time.Time
	seq     uint64 // the oldest has the smallest
}

func newResults() *results { return &results{byID: map[string]keptResult{}} }

// keep stores the rows of a query that has more pages and returns their ID.
func (r *results) keep(rows []row, now time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.byID {
		if !now.Before(v.expires) {
			delete(r.byID, k)
		}
	}
	if len(r.byID) >= maxResults {
		oldest := ""
		for k, v := range r.byID {
			if oldest == "" || v.seq < r.byID[oldest].seq {
				oldest = k
			}
		}
		delete(r.byID, oldest)
	}
	r.kept++
	r.byID[id] = keptResult{rows: rows, expires: now.Add(resultTTL), seq: r.kept}
	return id
}

// get returns the rows kept under an ID, or false once they expired.
func (r *results) get(id string, now time.Time) ([]row, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.byID[id]
	if !ok || !now.Before(v.expires) {
		return nil, false
	}
	return v.rows, true
}
