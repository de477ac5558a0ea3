package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// The types of a change, as the Kubernetes API names its watch events.
const (
	ChangeAdded    = "ADDED"
	ChangeModified = "MODIFIED"
	ChangeDeleted  = "DELETED"
)

// ChangeRetention is how long the change feed keeps a change. Writes prune older ones as they
// go, at most once per ChangeRetention/10 in each process.
const ChangeRetention = 15 * time.Minute

// ErrExpired matches an *ExpiredError.
var ErrExpired = errors.New("the changes asked for are no longer kept")

// ExpiredError is the error of Changes after a resourceVersion whose later changes were pruned
// in part: the reader must list the objects again.
type ExpiredError struct {
	// After is the resourceVersion asked for.
	After int64
	// Horizon is the resourceVersion up to which changes were pruned: those after it are kept.
	Horizon int64
}

// Error says what was asked and what is kept.
func (e *ExpiredError) Error() string {
	return fmt.Sprintf("changes after resourceVersion %d are no longer kept (only those after %d)", e.After, e.Horizon)
}

// Is makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }

// Change is one write of an object, in the change feed.
type Change struct {
	// Type is ChangeAdded, ChangeModified or ChangeDeleted.
	Type string
	// Kind and Key name the object.
	Kind, Key string
	// ResourceVersion is the write's.
	ResourceVersion int64
	// Object is the object as written, or as it last was for a deletion, with the write's
	// resourceVersion. Its secret is never opened: a carrier only reports whether one is set.
	// It is shared by every reader of the change and must not be modified.
	Object v1alpha1.Object
}

// ChangeRow is a change as the implementations keep it.
type ChangeRow struct {
	ResourceVersion int64
	Type, Kind, Key string
	// Data is the object's JSON as reads answer it: without its secrets, with the fields that
	// say which are stored (clientSecretSet, ...PasswordSet).
	Data []byte
	Time time.Time
}

// changeRow is the change of a write of row at resourceVersion rv; obj is the object written
// (the one deleted), whose secrets row.Secret holds.
func changeRow(typ string, obj v1alpha1.Object, row Row, rv int64) (ChangeRow, error) {
	data := row.Data
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		// Encode the object as reads answer it, and leave it as it was.
		sc.SetSecretPresent(row.Secret != nil)
		var err error
		data, err = json.Marshal(obj)
		sc.SetSecretPresent(false)
		if err != nil {
			return ChangeRow{}, fmt.Errorf("encode %s %s: %w", row.Kind, row.Key, err)
		}
	}
	return ChangeRow{ResourceVersion: rv, Type: typ, Kind: row.Kind, Key: row.Key, Data: data,
		Time: time.Now().UTC().Truncate(time.Microsecond)}, nil
}

// DecodeChange rebuilds the change of a row. Its object holds no secret.
func DecodeChange(r ChangeRow) (Change, error) {
	obj := v1alpha1.New(r.Kind)
	if obj == nil {
		return Change{}, fmt.Errorf("decode change %d: unknown kind %q", r.ResourceVersion, r.Kind)
	}
	if err := json.Unmarshal(r.Data, obj); err != nil {
		return Change{}, fmt.Errorf("decode change %d of %s %s: %w", r.ResourceVersion, r.Kind, r.Key, err)
	}
	obj.GetMetadata().ResourceVersion = strconv.FormatInt(r.ResourceVersion, 10)
	return Change{Type: r.Type, Kind: r.Kind, Key: r.Key, ResourceVersion: r.ResourceVersion, Object: obj}, nil
}

// CheckHorizon returns an *ExpiredError when changes after after were pruned: after is below
// the horizon up to which they were.
func CheckHorizon(after, horizon int64) error {
	if after < horizon {
		return &ExpiredError{After: after, Horizon: horizon}
	}
	return nil
}

// Signal tells every waiter that something happened: C returns a channel that Notify closes.
// The zero Signal is ready to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns a channel closed by the next Notify.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify closes the channel C returned, and starts a new one.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// PruneDue says whether a write should prune the change feed, at most once per
// ChangeRetention/10 in this process, and records that it does.
type PruneDue struct {
	mu   sync.Mutex
	last time.Time
}

// Now reports whether a prune is due at now, and if so marks it done.
func (p *PruneDue) Now(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.last) < ChangeRetention/10 {
		return false
	}
	p.last = now
	return true
}
