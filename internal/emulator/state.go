package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/strata-dev/strata/internal/atomicfile"
	"github.com/strata-dev/strata/internal/emulator/arm"
)

// stateFile is the saved cloud in the state directory.
const stateFile = "state.json"

// savedState is what state.json holds.
type savedState struct {
	Version       int                `json:"version"`
	SavedAt       time.Time          `json:"savedAt"`
	Principals    []ServicePrincipal `json:"principals"`
	Subscriptions []arm.Subscription `json:"subscriptions"`
	ARM           *arm.State         `json:"arm"`
	// Networks are the caller networks (NetworkBinding).
	Networks []NetworkBinding `json:"networks,omitempty"`
	// Entra is Entra ID's directory: users (with password hashes), groups and applications.
	Entra *savedDirectory `json:"entra,omitempty"`
}

func (em *Emulator) readState() (*savedState, error) {
	s := &savedState{}
	if em.opts.StateDir == "" {
		return s, nil
	}
	path := filepath.Join(em.opts.StateDir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("reading %s: version %d, want 1", path, s.Version)
	}
	return s, nil
}

// Save writes the state to the state directory now (atomically); without a state directory
// it does nothing.
func (em *Emulator) Save() error {
	if em.opts.StateDir == "" {
		return nil
	}
	em.saveMu.Lock()
	defer em.saveMu.Unlock()
	if em.saveClosed {
		return nil
	}
	s := savedState{
		Version:       1,
		SavedAt:       time.Now().UTC(),
		Principals:    em.Principals(),
		Subscriptions: em.engine.Subscriptions(),
		ARM:           em.engine.Snapshot(),
		Networks:      em.Networks(),
		Entra:         em.dir.snapshot(),
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	return atomicfile.Replace(filepath.Join(em.opts.StateDir, stateFile), b, 0o600)
}

// scheduleSave saves the state a little later, once for a burst of changes.
func (em *Emulator) scheduleSave() {
	if em.opts.StateDir == "" {
		return
	}
	em.saveMu.Lock()
	defer em.saveMu.Unlock()
	if em.saveTimer != nil || em.saveClosed {
		return
	}
	em.saveTimer = time.AfterFunc(em.opts.SaveDelay, func() {
		em.saveMu.Lock()
		em.saveTimer = nil
		em.saveMu.Unlock()
		if err := em.Save(); err != nil {
			em.log.Error("saving the emulator state", "err", err)
		}
	})
}
