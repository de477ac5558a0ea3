package controller

import (
	"context"
	"slices"
	"time"
)

// objKey names an object the controller works on.
type objKey struct{ kind, name string }

func (k objKey) String() string { return k.kind + "/" + k.name }

// objState is when an object is due again.
type objState struct {
	next     time.Time
	lastSync time.Time
	failures int
	// seen is the object's resourceVersion when the last pass ended: an object changed since
	// (a new spec, a deletion request) is due at once, whatever next says.
	seen string
	// ended is when the last pass ended: a scan that read the objects before then decided on
	// the object as it was before that pass's last writes (see current).
	ended time.Time
}

// candidate is an object due for a pass.
type candidate struct {
	key objKey
	// account is the cloud account whose Azure endpoints the pass calls.
	account string
	// since is when it became due, for oldest-first order.
	since time.Time
}

// admit chooses, oldest due first, the candidates to start now: while fewer than workers
// passes run in all and fewer than perAccount for the candidate's account, so that an account
// whose Azure endpoints hang holds at most perAccount workers and other accounts' objects
// still start. running and byAccount are the passes under way; byAccount is not changed.
// It returns the candidates to start and, in order, those left waiting.
func admit(cands []candidate, running int, byAccount map[string]int, workers, perAccount int) (start, wait []candidate) {
	cands = slices.Clone(cands)
	slices.SortStableFunc(cands, func(a, b candidate) int { return a.since.Compare(b.since) })
	taken := map[string]int{}
	for _, cd := range cands {
		if running >= workers || byAccount[cd.account]+taken[cd.account] >= perAccount {
			wait = append(wait, cd)
			continue
		}
		start = append(start, cd)
		taken[cd.account]++
		running++
	}
	return start, wait
}

// dispatch starts the candidates that admit lets start and queues the others; a pass that
// ends starts queued ones (release). Candidates whose decision no longer holds are dropped
// (see current): listedAt is when the scan began to read the objects it decided on.
func (c *Controller) dispatch(ctx context.Context, cands []candidate, listedAt time.Time) {
	c.mu.Lock()
	c.queue = current(cands, c.inFlight, c.states, listedAt)
	start := c.admitLocked(ctx)
	c.mu.Unlock()
	c.startAll(ctx, start)
}

// current returns the candidates whose decision still holds: not in flight, and whose last
// pass ended before listedAt, when the scan began to read the objects. A pass that ended
// later may have written the object after the scan read it: the scan saw a resourceVersion
// older than the one the pass recorded, took it for a change, and would start a second pass
// for nothing. The next scan, which reads the pass's writes, decides again.
func current(cands []candidate, inFlight map[objKey]string, states map[objKey]*objState, listedAt time.Time) []candidate {
	keep := cands[:0:0]
	for _, cd := range cands {
		if _, busy := inFlight[cd.key]; busy {
			continue
		}
		if st := states[cd.key]; st != nil && st.ended.After(listedAt) {
			continue
		}
		keep = append(keep, cd)
	}
	return keep
}

// admitLocked takes from the queue what may start now and marks it in flight; c.mu is held.
func (c *Controller) admitLocked(ctx context.Context) []candidate {
	if ctx.Err() != nil || len(c.queue) == 0 {
		return nil
	}
	start, wait := admit(c.queue, len(c.inFlight), c.perAccount, c.cfg.Workers, c.cfg.AccountWorkers)
	c.queue = wait
	for _, cd := range start {
		c.inFlight[cd.key] = cd.account
		c.perAccount[cd.account]++
	}
	return start
}

// startAll runs a pass over each candidate in a goroutine of its own.
func (c *Controller) startAll(ctx context.Context, start []candidate) {
	for _, cd := range start {
		c.passes.Go(func() {
			defer c.release(ctx, cd.key)
			c.process(ctx, cd.key)
		})
	}
}

// release clears an object's in-flight mark and starts what waited for its worker.
func (c *Controller) release(ctx context.Context, key objKey) {
	c.mu.Lock()
	if acct, ok := c.inFlight[key]; ok {
		delete(c.inFlight, key)
		if c.perAccount[acct]--; c.perAccount[acct] <= 0 {
			delete(c.perAccount, acct)
		}
	}
	start := c.admitLocked(ctx)
	c.mu.Unlock()
	c.startAll(ctx, start)
}

// process runs one pass over an object.
func (c *Controller) process(ctx context.Context, key objKey) {
	switch key.kind {
	case kindCluster:
		c.processCluster(ctx, key)
	case kindAccount:
		c.processAccount(ctx, key)
	}
}

// due reports whether an object needs a pass now and since when; c.mu is held. needs says,
// for an object past its requeue time, whether it needs a pass; pending marks an object that
// waits for a new generation or its deletion, due at once unless in backoff.
func (c *Controller) due(key objKey, rv string, pending bool, now time.Time, needs func(*objState) bool) (time.Time, bool) {
	st := c.states[key]
	if st == nil {
		st = &objState{}
		c.states[key] = st
	}
	changed := rv != st.seen
	pending = pending && st.failures == 0
	if now.Before(st.next) && !changed && !pending {
		return time.Time{}, false
	}
	if !needs(st) {
		return time.Time{}, false
	}
	since := st.next
	if since.After(now) {
		since = now
	}
	return since, true
}

// schedule sets when an object is due again: after a failure with exponential backoff.
func (c *Controller) schedule(key objKey, after time.Duration, err error, synced bool, seen string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.states[key]
	if st == nil {
		st = &objState{}
		c.states[key] = st
	}
	now := time.Now()
	if err != nil {
		st.failures++
		after = c.backoff(st.failures)
	} else {
		st.failures = 0
	}
	if synced {
		st.lastSync = now
	}
	st.next = now.Add(after)
	st.seen, st.ended = seen, now
}

// forget drops the states of objects of a kind that were not listed and are not in flight,
// and the API clients of the clusters gone.
func (c *Controller) forget(kind string, listed map[string]bool) {
	c.mu.Lock()
	var gone []*kubeClient
	for key := range c.states {
		if _, busy := c.inFlight[key]; key.kind == kind && !listed[key.name] && !busy {
			delete(c.states, key)
		}
	}
	if kind == kindCluster {
		for name, kc := range c.kube {
			if _, busy := c.inFlight[objKey{kind, name}]; !listed[name] && !busy {
				delete(c.kube, name)
				gone = append(gone, kc)
			}
		}
	}
	c.mu.Unlock()
	for _, kc := range gone {
		kc.close()
	}
}

// backoff is the delay after the n-th failure in a row.
func (c *Controller) backoff(n int) time.Duration {
	d := c.cfg.BackoffBase
	for i := 1; i < n && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, c.cfg.BackoffMax)
}
