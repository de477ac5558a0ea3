package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/store"
)

// kindAccount is the kind of the objects of the account reconciler.
const kindAccount = v1alpha1.KindCloudAccount

// Reasons of an account's Valid condition besides Azure's and Entra ID's error codes.
const (
	ReasonSignedIn        = "SignedIn"
	ReasonNoSubscriptions = "NoSubscriptions"
	ReasonCheckFailed     = "CheckFailed"
)

// dueAccounts returns the cloud accounts served here that are due for a
// check, and every account's gateway.
func (c *Controller) dueAccounts(now time.Time) ([]candidate, map[string]string) {
	var cands []candidate
	listed := map[string]bool{}
	gatewayOf := map[string]string{}
	c.objects.each(kindAccount, func(obj v1alpha1.Object) {
		acct, ok := obj.(*v1alpha1.CloudAccount)
		if !ok {
			return
		}
		gatewayOf[acct.Key()] = acct.Spec.Gateway
		if !servedHere(acct.Spec.Gateway, c.cfg.Gateway) {
			return
		}
		listed[acct.Key()] = true
		key := objKey{kindAccount, acct.Key()}
		m := acct.Metadata
		pending := m.DeletionTimestamp == nil && m.Generation != acct.Status.ObservedGeneration
		c.mu.Lock()
		since, ok := c.due(key, m.ResourceVersion, pending, now, func(st *objState) bool {
			return accountNeedsCheck(acct, st.failures, now, c.cfg.AccountResync)
		})
		c.mu.Unlock()
		if ok {
			cands = append(cands, candidate{key: key, account: acct.Key(), since: since})
		}
	})
	c.forget(kindAccount, listed)
	return cands, gatewayOf
}

// accountNeedsCheck reports whether an account is to be checked against Azure: a generation
// not checked yet (a new account, a changed spec or secret), a failed check whose backoff is
// over, or a last check, by any server, older than resync. An account being deleted is not.
func accountNeedsCheck(acct *v1alpha1.CloudAccount, failures int, now time.Time, resync time.Duration) bool {
	switch {
	case acct.Metadata.DeletionTimestamp != nil:
		return false
	case acct.Metadata.Generation != acct.Status.ObservedGeneration, failures > 0:
		return true
	case acct.Status.LastCheckTime == nil:
		return true
	}
	return now.Sub(*acct.Status.LastCheckTime) >= resync
}

// processAccount checks an account under its lease, so that servers sharing a store check it
// once, and schedules the next check.
func (c *Controller) processAccount(ctx context.Context, key objKey) {
	after, seen, ok, err := c.leased(ctx, "cloudaccount/"+key.name, "cloudAccount", key.name, func(ctx context.Context) (time.Duration, string, error) {
		return c.checkAccount(ctx, key)
	})
	if !ok {
		c.schedule(key, c.cfg.LeaseTTL/3, nil, false, "")
		return
	}
	if err != nil && ctx.Err() == nil {
		c.log.Warn("cloud account check failed, will retry", "cloudAccount", key.name, "error", err)
	}
	c.schedule(key, after, err, false, seen)
}

// checkAccount signs in with the account, lists its subscriptions and writes what it saw as
// the account's status. It returns when the account is due again, its resourceVersion after
// the write, and an error only when the check is worth retrying soon (Azure unreachable or
// failing), so that it backs off; a refusal waits for a change or the resync.
func (c *Controller) checkAccount(ctx context.Context, key objKey) (time.Duration, string, error) {
	acct, err := c.getAccount(ctx, key.name)
	if errors.Is(err, store.ErrNotFound) {
		return c.cfg.AccountResync, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	now := time.Now()
	if !accountNeedsCheck(acct, c.failures(key), now, c.cfg.AccountResync) {
		return c.cfg.AccountResync - now.Sub(*acct.Status.LastCheckTime), acct.Metadata.ResourceVersion, nil
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.AccountCheckTimeout)
	subs, checkErr := c.cfg.ListSubscriptions(cctx, acct)
	cancel()
	if ctx.Err() != nil {
		return 0, "", ctx.Err()
	}
	secret := acct.Spec.Azure.ClientSecret.Reveal()
	status := accountStatus(acct.Status, acct.Metadata.Generation, subs, checkErr, secret, time.Now().UTC())
	seen, err := c.writeAccountStatus(ctx, acct, status)
	if err != nil {
		return 0, "", err
	}
	if checkErr != nil && !azure.Refused(checkErr) {
		// Logged: its text is redacted as the status message is.
		return 0, seen, fmt.Errorf("check cloud account %q: %s", key.name, redact(checkErr.Error(), secret))
	}
	return c.cfg.AccountResync, seen, nil
}

// getAccount reads an account, its secret opened.
func (c *Controller) getAccount(ctx context.Context, name string) (*v1alpha1.CloudAccount, error) {
	obj, err := c.cfg.Store.Get(ctx, kindAccount, name)
	if err != nil {
		return nil, fmt.Errorf("read cloud account %q: %w", name, err)
	}
	acct, ok := obj.(*v1alpha1.CloudAccount)
	if !ok {
		return nil, fmt.Errorf("read cloud account %q: unexpected %T", name, obj)
	}
	return acct, nil
}

// failures is how many passes over an object failed in a row.
func (c *Controller) failures(key objKey) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.states[key]; st != nil {
		return st.failures
	}
	return 0
}

// accountStatus is an account's status after a check of its generation gen at now: Valid True
// with the subscriptions listed, or Valid False with the reason (Entra ID's or Azure's error
// code, Timeout, Unreachable, NoSubscriptions) and a message that never carries secret.
func accountStatus(prev v1alpha1.CloudAccountStatus, gen int64, subs []string, err error, secret string, now time.Time) v1alpha1.CloudAccountStatus {
	s := prev
	s.Conditions = slices.Clone(prev.Conditions)
	s.ObservedGeneration = gen
	s.LastCheckTime = &now
	s.Subscriptions = nil
	switch {
	case err != nil:
		reason, msg := azure.Failure(err, ReasonCheckFailed)
		setStatusCondition(&s.Status, v1alpha1.ConditionValid, "False", reason, redact(msg, secret))
	case len(subs) == 0:
		setStatusCondition(&s.Status, v1alpha1.ConditionValid, "False", ReasonNoSubscriptions,
			"signed in, but the service principal can access no subscription: give it a role on the subscriptions of its clusters")
	default:
		s.Subscriptions = slices.Clone(subs)
		setStatusCondition(&s.Status, v1alpha1.ConditionValid, "True", ReasonSignedIn,
			fmt.Sprintf("signed in; %d subscription(s) accessible", len(subs)))
	}
	return s
}

// redact replaces the secret in s.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// writeAccountStatus stores an account's new status, over concurrent changes of its spec
// (whose generation the next check sees), and records an event when Valid changed. It
// returns the account's resourceVersion after the write.
func (c *Controller) writeAccountStatus(ctx context.Context, acct *v1alpha1.CloudAccount, status v1alpha1.CloudAccountStatus) (string, error) {
	before := statusCondition(&acct.Status.Status, v1alpha1.ConditionValid)
	for attempt := 0; ; attempt++ {
		next := *acct
		next.Spec.Azure.ClientSecret = v1alpha1.Secret{} // none: the stored secret is kept
		next.Status = status
		err := c.cfg.Store.Update(ctx, &next)
		if err == nil {
			c.accountEvent(ctx, &next, before)
			return next.Metadata.ResourceVersion, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 20 {
			return "", fmt.Errorf("write the status of cloud account %q: %w", acct.Key(), err)
		}
		if acct, err = c.getAccount(ctx, acct.Key()); err != nil {
			return "", err
		}
	}
}

// accountEvent records an event when an account's Valid condition changed status or reason.
func (c *Controller) accountEvent(ctx context.Context, acct *v1alpha1.CloudAccount, before *v1alpha1.Condition) {
	now := statusCondition(&acct.Status.Status, v1alpha1.ConditionValid)
	if now == nil || (before != nil && before.Status == now.Status && before.Reason == now.Reason) {
		return
	}
	typ, reason := store.EventNormal, "AccountValid"
	if now.Status != "True" {
		typ, reason = store.EventWarning, "AccountInvalid"
	}
	err := c.cfg.Store.RecordEvent(ctx, store.Event{Kind: kindAccount, Key: acct.Key(), UID: acct.Metadata.UID,
		Type: typ, Reason: reason, Message: now.Reason + ": " + now.Message, Time: time.Now().UTC()})
	if err != nil {
		c.log.Warn("record event", "cloudAccount", acct.Key(), "error", err)
	}
}
