// Package store defines where strata keeps its objects and events, and the codec shared by the
// implementations: sqlite (embedded, the default) and postgres (several servers on one
// database). Both pass the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Errors returned by every implementation; test them with errors.Is.
var (
	// ErrNotFound: no object of that kind and key.
	ErrNotFound = errors.New("object not found")
	// ErrAlreadyExists: Create found an object of that kind and key.
	ErrAlreadyExists = errors.New("object already exists")
	// ErrConflict: the update or delete carried a resourceVersion that is no longer current.
	ErrConflict = errors.New("object was modified: the resourceVersion is stale")
)

// Store keeps objects of every kind, keyed by (kind, Key()), and their events.
//
// Objects are stored as JSON. A kind's write-only secrets (v1alpha1.SecretCarrier: a cloud
// account's client secret, a gateway's proxy passwords) are sealed with AES-256-GCM in a column
// of their own and never written to the JSON; reads open them again and report them as set. Resource versions come from one counter shared by all kinds, so they grow
// with every write.
//
// The store keeps the references between objects (v1alpha1.References: a cluster's account
// and profile versions, an account's gateway), written in the same transaction as the object,
// and keeps them whole whatever the writers do at once: an object is never stored referring to
// one that does not exist or is being deleted, and an object others refer to is neither
// deleted nor marked for deletion. The write that would break this fails with a
// *ReferenceError (ErrBrokenReference) or an *InUseError (ErrInUse).
type Store interface {
	// Create stores a new object. It sets metadata.uid, generation 1, resourceVersion and
	// creationTimestamp on obj, clears deletionTimestamp, and keeps the status as given.
	// It returns ErrAlreadyExists when the key is taken, and a *ReferenceError when obj refers
	// to an object that does not exist or is being deleted.
	Create(ctx context.Context, obj v1alpha1.Object) error
	// Get returns the object, with its secret opened, or ErrNotFound.
	Get(ctx context.Context, kind, key string) (v1alpha1.Object, error)
	// List returns the objects of a kind in key order, and the resourceVersion the page
	// reflects.
	List(ctx context.Context, kind string, opts ListOptions) (ListResult, error)
	// Update replaces a stored object when obj's resourceVersion is the stored one, and returns
	// ErrConflict otherwise (or ErrNotFound). It keeps uid and creationTimestamp, bumps
	// generation when the spec or the secret changed, sets a new resourceVersion on obj, and
	// keeps the stored secret when obj carries none and its kind keeps it (a cloud account's
	// client secret; a gateway's proxy passwords go with their URLs). An update that sets
	// deletionTimestamp fails with an *InUseError while other objects refer to the object; one
	// whose spec now refers to an object that does not exist or is being deleted fails with a
	// *ReferenceError. An update that keeps the spec, such as a status write, touches no other
	// object.
	Update(ctx context.Context, obj v1alpha1.Object) error
	// Delete removes the object when resourceVersion is the stored one (ErrConflict otherwise);
	// an empty resourceVersion deletes unconditionally. It fails with an *InUseError while
	// other objects refer to it. Its events are kept.
	Delete(ctx context.Context, kind, key, resourceVersion string) error
	// Referrers returns the objects that refer to kind/key, sorted by kind and key.
	Referrers(ctx context.Context, kind, key string) ([]v1alpha1.Ref, error)

	// ResourceVersion returns the resourceVersion of the last write committed.
	ResourceVersion(ctx context.Context) (int64, error)
	// Changes returns the change feed after resourceVersion after, oldest first, at most
	// limit changes (0: all). Every write of an object (Create, Update, Delete) is one change,
	// in the order of the commits, whichever process made it. Changes are kept for
	// ChangeRetention; after a resourceVersion whose later changes were pruned in part, it
	// fails with an *ExpiredError (ErrExpired).
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// Changed returns a channel that is closed once a change is committed after the call: at
	// once for a write of this process; for another process's write on a shared PostgreSQL
	// database, when PostgreSQL notifies it. Other processes' writes to a SQLite file are seen
	// only by reading Changes.
	Changed() <-chan struct{}
	// PruneChanges drops the changes committed before before; writes do it by themselves for
	// the changes older than ChangeRetention.
	PruneChanges(ctx context.Context, before time.Time) error
	// RecordEvent appends an event about the object with ev.UID, which is required. Only the
	// newest MaxEventsPerObject events of a kind and key are kept, whichever objects of that
	// key they belong to.
	RecordEvent(ctx context.Context, ev Event) error
	// ListEvents returns the events of the object with uid that is or was stored as kind/key,
	// oldest first: events outlive their object, and an object created with the name of a
	// deleted one starts with none. An empty uid returns the events of every object that had
	// the key.
	ListEvents(ctx context.Context, kind, key, uid string) ([]Event, error)
	// RecordAudit appends rec to the audit trail under a new ID, larger than every earlier
	// record's (rec.ID is ignored). A record without a time is stamped now; times are kept to the
	// microsecond, in UTC. Text is kept without control characters and cut to a bound. The
	// trail keeps the newest MaxAuditRecords records: each record deletes those that fall
	// further behind, at most AuditPruneBatch at a time.
	RecordAudit(ctx context.Context, rec AuditRecord) error
	// ListAudit returns the records that match q, newest (largest ID) first, a page of at most
	// q.Limit records. An invalid query (AuditQuery.Validate) is an error.
	ListAudit(ctx context.Context, q AuditQuery) (AuditPage, error)
	// AcquireLease takes or renews the lease name for holder until ttl from now, and reports
	// whether holder has it: false while another holder's lease has not expired. Several
	// servers sharing one database use leases so that no cluster is worked on twice.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease name; releasing a lease one does not hold does
	// nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
	// PutSecret stores an internal secret (a cluster's CA key, its bootstrap token) sealed
	// under name, replacing any previous one.
	PutSecret(ctx context.Context, name string, plaintext []byte) error
	// GetSecret returns the opened secret, or ErrNotFound.
	GetSecret(ctx context.Context, name string) ([]byte, error)
	// DeleteSecret removes a secret; an absent one is not an error.
	DeleteSecret(ctx context.Context, name string) error
	// Ping checks that the store can be reached.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// MaxEventsPerObject bounds the events kept for one object.
const MaxEventsPerObject = 100

// ListOptions narrow a List.
type ListOptions struct {
	// Name keeps only objects with this metadata.name (all versions of a ClusterProfile).
	Name string
	// Limit caps the number of objects returned; 0 means no limit.
	Limit int
	// Continue resumes after the key returned as ListResult.Continue.
	Continue string
}

// ListResult is one page of a List.
type ListResult struct {
	Items []v1alpha1.Object
	// Continue is set when more objects follow; pass it in ListOptions.Continue.
	Continue string
	// ResourceVersion is the resourceVersion of the last write the page reflects: the
	// changes after it (Changes) are those the page does not show.
	ResourceVersion int64
}

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event is something that happened to an object.
type Event struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
	// UID is the object's metadata.uid: an event belongs to one object, not to its name.
	UID     string    `json:"uid,omitempty"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}
