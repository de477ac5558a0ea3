//go:build !unix

package holder

import (
	"errors"
	"os"
)

// errLocked says another process holds the lock.
var errLocked = errors.New("locked by another process")

// lock cannot tell whether another process uses the identity on this system: each process
// then takes a fresh identity, and a restarted server waits for its old leases to expire.
func lock(*os.File) error { return errLocked }
