package resourcegraph

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// Page sizes: Resource Graph answers 100 rows unless $top says otherwise, at most 1000.
const (
	defaultTop = 100
	maxTop     = 1000
)

// skipToken is what a $skipToken holds: the offset of the next page and a hash of the query
// and subscriptions it belongs to.
type skipToken struct {
	Offset int    `json:"o"`
	Hash   string `json:"h"`
	// Result is the ID of the query's rows, kept for its next pages ("" for none).
	Result string `json:"r,omitempty"`
}

// queryHash identifies a query over a set of subscriptions, whatever their order and casing.
func queryHash(query string, subs []string) string {
	s := make([]string, len(subs))
	for i, x := range subs {
		s[i] = strings.ToLower(x)
	}
	slices.Sort(s)
	h := fnv.New64a()
	_, _ = h.Write([]byte(query + "\x00" + strings.Join(s, ",")))
	return fmt.Sprintf("%016x", h.Sum64())
}

// encodeToken returns the opaque $skipToken of the page at offset of a query's rows, kept
// under result.
func encodeToken(offset int, hash, result string) string {
	b, _ := json.Marshal(skipToken{Offset: offset, Hash: hash, Result: result})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken reads a $skipToken; it refuses a token that is not one of ours or that belongs
// to another query.
func decodeToken(tok, hash string) (skipToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return skipToken{}, fmt.Errorf("decoding the $skipToken: %w", err)
	}
	var st skipToken
	if err := json.Unmarshal(b, &st); err != nil {
		return skipToken{}, fmt.Errorf("reading the $skipToken: %w", err)
	}
	if st.Hash != hash || st.Offset < 0 {
		return skipToken{}, fmt.Errorf("the $skipToken belongs to another query")
	}
	return st, nil
}

// page is one page of results: the rows from offset, at most top of them, and the token of the
// next page ("" for the last), which points at the rows kept under result.
func page(rows []row, offset, top int, hash, result string) ([]row, string) {
	if offset >= len(rows) {
		return []row{}, ""
	}
	end := min(offset+top, len(rows))
	next := ""
	if end < len(rows) {
		next = encodeToken(end, hash, result)
	}
	return rows[offset:end], next
}
