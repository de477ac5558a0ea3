package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/internal/store"
)

// AcquireLease implements store.Store. Expiry is reckoned on the database's clock, so servers
// with skewed clocks still agree.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()`,
		name, holder, ttl.Microseconds())
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease implements store.Store.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// PutSecret implements store.Store.
func (s *Store) PutSecret(ctx context.Context, name string, plaintext []byte) error {
	sealed, err := s.codec.SealSecret(name, plaintext)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, sealed) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET sealed = EXCLUDED.sealed`, name, sealed); err != nil {
		return fmt.Errorf("put secret %s: %w", name, err)
	}
	return nil
}

// GetSecret implements store.Store.
func (s *Store) GetSecret(ctx context.Context, name string) ([]byte, error) {
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT sealed FROM secrets WHERE name = $1`, name).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get secret %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	return s.codec.OpenSecret(name, sealed)
}

// DeleteSecret implements store.Store.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM secrets WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return nil
}
