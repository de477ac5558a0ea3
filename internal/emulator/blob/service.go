// Package blob is the Azure Blob data plane of strata's Azure emulator.
//
// It serves the path-style REST API of Azurite (/{account}/{container}/{blob}) as the official
// azblob SDK uses it: containers, block and page blobs, listing, and asynchronous copies whose
// pending → success transition takes Options.CopyDuration. Requests are authorized with Shared
// Key, account or service SAS, bearer tokens signed by the emulator's Entra ID, or anonymously
// for public containers. A built-in public account, SourceAccount, holds a fixed VHD base image.
//
// Accounts are created by the emulator's storage resource provider with CreateAccount; with a
// StateDir, everything but the built-in account survives a restart.
package blob

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/strata-dev/strata/internal/emulator/tokens"
)

const (
	// SourceAccount is the built-in, publicly readable account that holds base images.
	SourceAccount = "strataimages"
	// SourceContainer is the public container of SourceAccount that holds the VHDs.
	SourceContainer = "vhds"
	// BaseImageBlob is the fixed VHD page blob in SourceContainer generated at start.
	BaseImageBlob = "ubuntu-22.04.vhd"
	// NextBaseImageBlob is a second one, of the same bytes, so that an OS image can change
	// (a rolling replacement of a cluster's machines to a new image).
	NextBaseImageBlob = "ubuntu-24.04.vhd"

	// DefaultVersion is the x-ms-version answered when a request names none.
	DefaultVersion = "2026-12-06"

	stateFileName = "blob-state.json"
	blobsDirName  = "blobs"
)

// Options configures a Service.
type Options struct {
	// StateDir, when set, is where accounts, containers and blobs persist: metadata in
	// StateDir/blob-state.json, blob bytes in files under StateDir/blobs. Empty: memory only.
	StateDir string
	// CopyDuration gives how long a StartCopyFromURL of sizeBytes stays pending before it
	// succeeds. Nil, or a non-positive duration, completes copies at once.
	CopyDuration func(sizeBytes int64) time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tokens verifies the Entra ID bearer tokens requests carry (those of the emulator's
	// Entra ID); nil refuses every bearer token.
	Tokens *tokens.Signer
	// Logger receives request and persistence logs; nil discards them.
	Logger *slog.Logger
	// NetworkAllowed, when set, says whether a request may reach an account from where it
	// comes (the account's firewall: public network access, network rules, private
	// endpoints); a request it refuses gets 403 AuthorizationFailure before its credentials
	// are looked at. It is not asked for the built-in SourceAccount, and must not call back
	// into the Service.
	NetworkAllowed func(account string, r *http.Request) bool
}

// Service is the blob endpoint. It is an http.Handler and safe for concurrent use.
type Service struct {
	log          *slog.Logger
	now          func() time.Time
	copyDuration func(int64) time.Duration
	stateFile    string
	tokens       *tokens.Signer
	// networkAllowed is Options.NetworkAllowed.
	networkAllowed func(account string, r *http.Request) bool

	mu       sync.RWMutex
	accounts map[string]*account
	data     dataStore
	lastETag uint64
}

// account is a storage account's blob service.
type account struct {
	Name       string                   `json:"name"`
	Keys       [2]string                `json:"keys"`
	Containers map[string]*containerRec `json:"containers"`

	keys    [2][]byte // decoded Keys
	builtin bool
}

// containerRec is a blob container.
type containerRec struct {
	Name         string                 `json:"name"`
	Created      time.Time              `json:"created"`
	Modified     time.Time              `json:"modified"`
	ETag         string                 `json:"etag"`
	PublicAccess string                 `json:"publicAccess,omitempty"` // "", "blob" or "container"
	Metadata     map[string]string      `json:"metadata,omitempty"`
	Blobs        map[string]*blobRecord `json:"blobs"`
}

// New creates a Service, restoring the state of opts.StateDir if it holds one, and
// generates the built-in SourceAccount with its base image.
func New(opts Options) (*Service, error) {
	s := &Service{
		log:            opts.Logger,
		now:            opts.Now,
		copyDuration:   opts.CopyDuration,
		tokens:         opts.Tokens,
		networkAllowed: opts.NetworkAllowed,
		accounts:       map[string]*account{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.copyDuration == nil {
		s.copyDuration = func(int64) time.Duration { return 0 }
	}
	if opts.StateDir == "" {
		s.data = newMemData()
	} else {
		fd, err := newFileData(filepath.Join(opts.StateDir, blobsDirName))
		if err != nil {
			return nil, fmt.Errorf("blob service: %w", err)
		}
		s.data = fd
		s.stateFile = filepath.Join(opts.StateDir, stateFileName)
		if err := s.load(); err != nil {
			return nil, fmt.Errorf("blob service: %w", err)
		}
	}
	if err := s.createSourceAccount(); err != nil {
		return nil, fmt.Errorf("blob service: %w", err)
	}
	return s, nil
}

// CreateAccount adds an account with its two base64 keys (as ARM listKeys returns them), or
// replaces the keys of an existing one, keeping its containers. Keys that are not base64 are
// used as raw bytes.
func (s *Service) CreateAccount(name string, keys [2]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[name]
	if !ok {
		a = &account{Name: name, Containers: map[string]*containerRec{}}
		s.accounts[name] = a
	}
	if a.builtin {
		s.log.Warn("blob: refusing to change the built-in account", "account", name)
		return
	}
	a.Keys = keys
	a.decodeKeys()
	s.log.Info("blob: account ready", "account", name, "existed", ok)
	s.saveLocked()
}

// DeleteAccount removes an account with all its containers and blobs. The built-in
// SourceAccount cannot be deleted.
func (s *Service) DeleteAccount(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[name]
	if !ok || a.builtin {
		return
	}
	for _, c := range a.Containers {
		s.dropContainerData(c)
	}
	delete(s.accounts, name)
	s.log.Info("blob: account deleted", "account", name)
	s.saveLocked()
}

// Accounts lists the account names, SourceAccount included, sorted.
func (s *Service) Accounts() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.accounts))
	for n := range s.accounts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ErrAccountNotFound is returned for an account that does not exist.
var ErrAccountNotFound = errors.New("storage account not found")

// ErrInvalidContainerName is returned for a name outside the container naming rules.
var ErrInvalidContainerName = errors.New("invalid container name")

// CreateContainer creates a private container, as the ARM BlobContainers API does; an existing
// container is left as it is.
func (s *Service) CreateContainer(accountName, name string) error {
	if !validContainerName(name) {
		return fmt.Errorf("container %q: %w", name, ErrInvalidContainerName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountName]
	if !ok {
		return fmt.Errorf("create container %s/%s: %w", accountName, name, ErrAccountNotFound)
	}
	if _, ok := a.Containers[name]; ok {
		return nil
	}
	now := s.now()
	a.Containers[name] = &containerRec{Name: name, Created: now, Modified: now, ETag: s.newETag(),
		Blobs: map[string]*blobRecord{}}
	return s.saveLocked()
}

// DeleteContainer deletes a container and its blobs; a missing container is no error.
func (s *Service) DeleteContainer(accountName, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountName]
	if !ok {
		return fmt.Errorf("delete container %s/%s: %w", accountName, name, ErrAccountNotFound)
	}
	c, ok := a.Containers[name]
	if !ok {
		return nil
	}
	s.dropContainerData(c)
	delete(a.Containers, name)
	return s.saveLocked()
}

// Reset deletes every account but the built-in one, whose base image is regenerated.
func (s *Service) Reset() error {
	s.mu.Lock()
	for _, a := range s.accounts {
		for _, c := range a.Containers {
			s.dropContainerData(c)
		}
	}
	s.accounts = map[string]*account{}
	s.mu.Unlock()
	if err := s.createSourceAccount(); err != nil {
		return fmt.Errorf("blob reset: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.saveLocked(); err != nil {
		return fmt.Errorf("blob reset: %w", err)
	}
	return nil
}

func (a *account) decodeKeys() {
	for i, k := range a.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			b = []byte(k)
		}
		a.keys[i] = b
	}
}

// createSourceAccount (re)creates SourceAccount with its public container and base image.
func (s *Service) createSourceAccount() error {
	img := BaseImage()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.accounts[SourceAccount]; ok {
		for _, c := range old.Containers {
			s.dropContainerData(c)
		}
	}
	var keys [2]string
	for i := range keys {
		k := make([]byte, 64)
		if _, err := rand.Read(k); err != nil {
			return fmt.Errorf("source account key: %w", err)
		}
		keys[i] = base64.StdEncoding.EncodeToString(k)
	}
	a := &account{Name: SourceAccount, Keys: keys, Containers: map[string]*containerRec{}, builtin: true}
	a.decodeKeys()
	created := baseImageCreated
	c := &containerRec{
		Name: SourceContainer, Created: created, Modified: created, ETag: s.newETag(),
		PublicAccess: publicContainer, Blobs: map[string]*blobRecord{},
	}
	for _, name := range []string{BaseImageBlob, NextBaseImageBlob} {
		b := &blobRecord{
			Name: name, Type: typePage, Committed: true, DataID: "base-" + newID(),
			Size: int64(len(img)), Created: created, Modified: created, ETag: s.newETag(),
			Pages: []pageRange{{Start: 0, End: int64(len(img))}},
		}
		b.Props.ContentType = "application/octet-stream"
		if err := s.data.create(b.DataID, b.Size); err != nil {
			return err
		}
		if err := s.data.writeAt(b.DataID, img, 0); err != nil {
			return err
		}
		c.Blobs[b.Name] = b
	}
	a.Containers[c.Name] = c
	s.accounts[SourceAccount] = a
	return nil
}

// dropContainerData removes the stored bytes of every blob of c.
func (s *Service) dropContainerData(c *containerRec) {
	for _, b := range c.Blobs {
		s.dropBlobData(b)
	}
}

// dropBlobData removes the stored bytes of b and of its staged blocks.
func (s *Service) dropBlobData(b *blobRecord) {
	ids := []string{b.DataID}
	for _, u := range b.Uncommitted {
		ids = append(ids, u.DataID)
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := s.data.remove(id); err != nil {
			s.log.Error("blob: remove data", "id", id, "err", err)
		}
	}
}

// newETag returns a new, strictly increasing ETag in the service's "0x8D…" style.
func (s *Service) newETag() string {
	t := uint64(s.now().UnixNano()/100) + 0x8D000000000000
	if t <= s.lastETag {
		t = s.lastETag + 1
	}
	s.lastETag = t
	return fmt.Sprintf("\"0x%X\"", t)
}

// newID returns a random identifier for stored objects and copies.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// persistedState is the JSON document of StateDir/blob-state.json.
type persistedState struct {
	Version  int        `json:"version"`
	LastETag uint64     `json:"lastETag"`
	Accounts []*account `json:"accounts"`
}

// load restores the accounts of the state file, if any, and removes unreferenced data files.
func (s *Service) load() error {
	raw, err := os.ReadFile(s.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return s.collectGarbage()
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	var st persistedState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("decode state %s: %w", s.stateFile, err)
	}
	s.lastETag = st.LastETag
	for _, a := range st.Accounts {
		if a.Name == SourceAccount {
			continue
		}
		if a.Containers == nil {
			a.Containers = map[string]*containerRec{}
		}
		for _, c := range a.Containers {
			if c.Blobs == nil {
				c.Blobs = map[string]*blobRecord{}
			}
		}
		a.decodeKeys()
		s.accounts[a.Name] = a
	}
	s.log.Info("blob: state restored", "file", s.stateFile, "accounts", len(s.accounts))
	return s.collectGarbage()
}

// collectGarbage removes stored objects that no blob refers to (a crash between writing data
// and saving the state can leave some).
func (s *Service) collectGarbage() error {
	used := map[string]bool{}
	for _, a := range s.accounts {
		for _, c := range a.Containers {
			for _, b := range c.Blobs {
				used[b.DataID] = true
				for _, u := range b.Uncommitted {
					used[u.DataID] = true
				}
			}
		}
	}
	ids, err := s.data.ids()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !used[id] {
			if err := s.data.remove(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveLocked writes the state file atomically; the caller holds s.mu. Without a StateDir it
// does nothing. Failures are logged and returned.
func (s *Service) saveLocked() error {
	if s.stateFile == "" {
		return nil
	}
	st := persistedState{Version: 1, LastETag: s.lastETag}
	for _, a := range s.accounts {
		if !a.builtin {
			st.Accounts = append(st.Accounts, a)
		}
	}
	slices.SortFunc(st.Accounts, func(x, y *account) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	raw, err := json.Marshal(st)
	if err != nil {
		s.log.Error("blob: encode state", "err", err)
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := s.stateFile + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		s.log.Error("blob: write state", "err", err)
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, s.stateFile); err != nil {
		s.log.Error("blob: replace state", "err", err)
		return fmt.Errorf("replace state: %w", err)
	}
	return nil
}
