package agentserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// memStore is an in-memory Store: secrets and leases.
type memStore struct {
	mu      sync.Mutex
	secrets map[string][]byte
	leases  map[string]memLease
}

type memLease struct {
	holder string
	until  time.Time
}

func newMemStore() *memStore {
	return &memStore{secrets: map[string][]byte{}, leases: map[string]memLease{}}
}

func (m *memStore) PutSecret(_ context.Context, name string, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets[name] = append([]byte(nil), b...)
	return nil
}

func (m *memStore) GetSecret(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.secrets[name]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), b...), nil
}

func (m *memStore) DeleteSecret(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.secrets, name)
	return nil
}

func (m *memStore) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder != holder && time.Now().Before(l.until) {
		return false, nil
	}
	m.leases[name] = memLease{holder: holder, until: time.Now().Add(ttl)}
	return true, nil
}

func (m *memStore) ReleaseLease(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder == holder {
		delete(m.leases, name)
	}
	return nil
}

// TestTokens mints tokens of a cluster at given times and uses them: a use spends every
// outstanding token of the cluster, expired and dropped tokens are refused.
func TestTokens(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const ttl = time.Hour
	type use struct {
		token int           // index of the minted token
		after time.Duration // since t0
		ok    bool
	}
	tests := []struct {
		name string
		// mints are the times (since t0) of the tokens minted, in order.
		mints []time.Duration
		// stored is how many tokens the record holds after the mints.
		stored int
		uses   []use
	}{
		{"one token, used once", []time.Duration{0}, 1, []use{{0, time.Minute, true}, {0, 2 * time.Minute, false}}},
		{"two mints, the first used: the second is spent too", []time.Duration{0, time.Minute}, 2,
			[]use{{0, 2 * time.Minute, true}, {1, 3 * time.Minute, false}, {0, 4 * time.Minute, false}}},
		{"two mints, the second used: the first is spent too", []time.Duration{0, time.Minute}, 2,
			[]use{{1, 2 * time.Minute, true}, {0, 3 * time.Minute, false}}},
		{"expired token refused, the other still valid", []time.Duration{0, 50 * time.Minute}, 2,
			[]use{{0, 61 * time.Minute, false}, {1, 62 * time.Minute, true}}},
		{"every token expired", []time.Duration{0}, 1, []use{{0, ttl + time.Second, false}}},
		{"the oldest beyond the cap is dropped", []time.Duration{0, 1, 2, 3, 4, 5, 6, 7, 8}, MaxOutstandingTokens,
			[]use{{0, time.Minute, false}, {1, time.Minute, true}}},
		{"the newest of a full record is valid", []time.Duration{0, 1, 2, 3, 4, 5, 6, 7, 8}, MaxOutstandingTokens,
			[]use{{8, time.Minute, true}, {8, time.Minute, false}}},
		{"a mint drops the expired tokens", []time.Duration{0, 2 * time.Hour}, 1,
			[]use{{0, 2 * time.Hour, false}, {1, 2 * time.Hour, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, st := context.Background(), newMemStore()
			id := Identity{ClusterName: "c1", ClusterUID: "6b1f0a52-0c1e-4f6e-9d35-1f6a9f0b2c3d"}
			var tokens []string
			for _, at := range tt.mints {
				tok, err := MintToken(ctx, st, id, t0.Add(at), ttl)
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, tok)
			}
			checkStored(t, st, id.ClusterUID, tokens, tt.stored)
			for i, u := range tt.uses {
				got, err := ConsumeToken(ctx, st, tokens[u.token], t0.Add(u.after))
				switch {
				case u.ok && (err != nil || got != id):
					t.Fatalf("use %d (token %d): got %+v, %v; want %+v", i, u.token, got, err, id)
				case !u.ok && !errors.Is(err, ErrTokenRefused):
					t.Fatalf("use %d (token %d): got %+v, %v; want ErrTokenRefused", i, u.token, got, err)
				}
			}
		})
	}
}

// checkStored checks that the cluster's record holds want hashes, and no token nor its secret
// part.
func checkStored(t *testing.T, st *memStore, uid string, tokens []string, want int) {
	t.Helper()
	b, err := st.GetSecret(context.Background(), tokenSecret(uid))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		_, secret, _ := strings.Cut(tok, ".")
		if strings.Contains(string(b), secret) {
			t.Fatal("the stored record holds a token's secret")
		}
	}
	var rec tokenRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Tokens); n != want {
		t.Fatalf("%d tokens stored, want %d", n, want)
	}
}

// TestTokensMalformed refuses what is not a token of a known cluster.
func TestTokensMalformed(t *testing.T) {
	ctx, st, now := context.Background(), newMemStore(), time.Now()
	tok, err := MintToken(ctx, st, Identity{ClusterName: "c1", ClusterUID: "u1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	uid, secret, _ := strings.Cut(tok, ".")
	for _, bad := range []string{"", "u1", "u1.", ".x", "u2." + secret, uid + ".x" + secret, uid + "." + strings.Repeat("a", 300)} {
		if _, err := ConsumeToken(ctx, st, bad, now); !errors.Is(err, ErrTokenRefused) {
			t.Errorf("%q: got %v, want ErrTokenRefused", bad, err)
		}
	}
	if _, err := MintToken(ctx, st, Identity{ClusterName: "c2", ClusterUID: "a.b"}, now, time.Hour); err == nil {
		t.Error("a UID with a dot: minted")
	}
	if _, err := ConsumeToken(ctx, st, tok, now); err != nil {
		t.Errorf("the valid token after the refusals: %v", err)
	}
}

// TestTokensConcurrentMints mints tokens of one cluster at once: none is lost.
func TestTokensConcurrentMints(t *testing.T) {
	ctx, st, now := context.Background(), newMemStore(), time.Now()
	id := Identity{ClusterName: "c1", ClusterUID: "u1"}
	tokens := make([]string, MaxOutstandingTokens)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			tok, err := MintToken(ctx, st, id, now, time.Hour)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	b, err := st.GetSecret(ctx, tokenSecret(id.ClusterUID))
	if err != nil {
		t.Fatal(err)
	}
	var rec tokenRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Tokens) != len(tokens) {
		t.Fatalf("%d tokens stored after %d concurrent mints", len(rec.Tokens), len(tokens))
	}
	for i, tok := range tokens {
		_, secret, _ := strings.Cut(tok, ".")
		if !validToken(rec.Tokens, hashToken(secret), now) {
			t.Errorf("token %d was lost", i)
		}
	}
}

// TestTokensLease: a use waits for a mint holding the lease rather than refusing the token,
// and gives up, without refusing, when the lease is held too long.
func TestTokensLease(t *testing.T) {
	ctx, st, now := context.Background(), newMemStore(), time.Now()
	id := Identity{ClusterName: "c1", ClusterUID: "u1"}
	tok, err := MintToken(ctx, st, id, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.AcquireLease(ctx, tokenSecret(id.ClusterUID), "other", time.Hour); !ok {
		t.Fatal("lease not taken")
	}
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := ConsumeToken(tctx, st, tok, now); err == nil || errors.Is(err, ErrTokenRefused) {
		t.Fatalf("use while another holds the lease: %v, want an error that is not a refusal", err)
	}
	time.AfterFunc(200*time.Millisecond, func() { _ = st.ReleaseLease(ctx, tokenSecret(id.ClusterUID), "other") })
	if got, err := ConsumeToken(ctx, st, tok, now); err != nil || got != id {
		t.Fatalf("use after the lease was released: %+v, %v", got, err)
	}
}

// TestTokensLegacyRecord reads a record of the single-token form.
func TestTokensLegacyRecord(t *testing.T) {
	ctx, st, now := context.Background(), newMemStore(), time.Now()
	b, _ := json.Marshal(map[string]any{"sha256": hashToken("s3cret"), "cluster": "c1", "expires": now.Add(time.Hour)})
	_ = st.PutSecret(ctx, tokenSecret("u1"), b)
	tok2, err := MintToken(ctx, st, Identity{ClusterName: "c1", ClusterUID: "u1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ConsumeToken(ctx, st, "u1.s3cret", now); err != nil || got.ClusterName != "c1" {
		t.Fatalf("the legacy token: %+v, %v", got, err)
	}
	if _, err := ConsumeToken(ctx, st, tok2, now); !errors.Is(err, ErrTokenRefused) {
		t.Fatalf("the token minted beside it after the use: %v, want ErrTokenRefused", err)
	}
}
