package azure

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/strata-dev/strata/internal/plan"
)

// blobCopyService makes KindBlobCopy nodes real: the destination blob exists and its copy
// status is success. It starts a server-side copy (StartCopyFromURL) from SourceURL when the
// blob is absent (or its last copy failed or was aborted), then polls the blob's properties
// until the copy succeeds; a pending copy found on a later Apply is waited for, not restarted.
// The blob service is reached with the account's shared key (from ARM listKeys, kept for the
// life of the Clients). Node.ID's resource group names the account's group.
type blobCopyService struct{ c *Clients }

func (c *Clients) blobCopyService() service { return &blobCopyService{c: c} }

func (s *blobCopyService) spec(n *plan.Node) (*plan.BlobCopy, string, error) {
	var bc *plan.BlobCopy
	switch v := n.Spec.(type) {
	case *plan.BlobCopy:
		bc = v
	case plan.BlobCopy:
		bc = &v
	case nil:
		bc = blobCopyFromID(n.ID) // a node rebuilt from the inventory, to be deleted
	}
	if bc == nil || bc.Account == "" || bc.Container == "" || bc.Blob == "" {
		return nil, "", fmt.Errorf("azure: %s %s: spec is %T, want a complete *plan.BlobCopy", n.Kind, n.Key, n.Spec)
	}
	if err := errors.Join(checkSegments(n.ID), checkSegments(bc.Account+"/"+bc.Container+"/"+bc.Blob)); err != nil {
		return nil, "", fmt.Errorf("azure: %s %s: bad blob name: %w", n.Kind, n.Key, err)
	}
	rg := ""
	segs := strings.Split(strings.Trim(n.ID, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "resourceGroups") {
			rg = segs[i+1]
		}
	}
	if rg == "" {
		return nil, "", fmt.Errorf("azure: %s %s: ID %q names no resource group", n.Kind, n.Key, n.ID)
	}
	return bc, rg, nil
}

// blobCopyFromID names a copied blob from its inventory ID,
// .../storageAccounts/{a}/blobServices/default/containers/{c}/blobs/{b}, for a node
// without its plan (deletion from the inventory).
func blobCopyFromID(id string) *plan.BlobCopy {
	bc := &plan.BlobCopy{}
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		switch strings.ToLower(segs[i]) {
		case "storageaccounts":
			bc.Account = segs[i+1]
		case "containers":
			bc.Container = segs[i+1]
		case "blobs":
			bc.Blob = strings.Join(segs[i+1:], "/")
			return bc
		}
	}
	return bc
}

// client returns a blob client of the destination blob, authorized with the account key.
func (s *blobCopyService) client(ctx context.Context, rg string, bc *plan.BlobCopy) (*blob.Client, error) {
	c := s.c
	c.mu.Lock()
	key, haveKey := c.keys[strings.ToLower(bc.Account)]
	_, haveEP := c.endpoints[strings.ToLower(bc.Account)]
	c.mu.Unlock()
	accounts := c.Storage.NewAccountsClient()
	if !haveEP {
		r, err := accounts.GetProperties(ctx, rg, bc.Account, nil)
		if err != nil {
			return nil, fmt.Errorf("reading storage account %s: %w", bc.Account, err)
		}
		c.rememberEndpoint(bc.Account, &r.Account)
	}
	if !haveKey {
		r, err := accounts.ListKeys(ctx, rg, bc.Account, nil)
		if err != nil {
			return nil, fmt.Errorf("listing the keys of storage account %s: %w", bc.Account, err)
		}
		for _, k := range r.Keys {
			if k != nil && k.Value != nil {
				key = *k.Value
				break
			}
		}
		if key == "" {
			return nil, fmt.Errorf("storage account %s has no key", bc.Account)
		}
		c.mu.Lock()
		c.keys[strings.ToLower(bc.Account)] = key
		c.mu.Unlock()
	}
	cred, err := blob.NewSharedKeyCredential(bc.Account, key)
	if err != nil {
		return nil, fmt.Errorf("storage account %s key: %w", bc.Account, err)
	}
	u := c.BlobEndpoint(bc.Account) + url.PathEscape(bc.Container) + "/" + url.PathEscape(bc.Blob)
	return blob.NewClientWithSharedKeyCredential(u, cred, c.blobOpts)
}

// forget drops the cached key and endpoint of an account (after the account was made again
// with new keys).
func (s *blobCopyService) forget(account string) {
	s.c.mu.Lock()
	delete(s.c.keys, strings.ToLower(account))
	delete(s.c.endpoints, strings.ToLower(account))
	s.c.mu.Unlock()
}

// statusOf reads the destination's copy status, refreshing a stale cached account key once.
func (s *blobCopyService) statusOf(ctx context.Context, rg string, bc *plan.BlobCopy) (*blob.Client, blob.CopyStatusType, bool, error) {
	for attempt := 0; ; attempt++ {
		bl, err := s.client(ctx, rg, bc)
		if err != nil {
			return nil, "", false, err
		}
		st, exists, err := status(ctx, bl)
		if code, _, _ := ErrorCode(err); code == "AuthenticationFailed" && attempt == 0 {
			s.c.log.InfoContext(ctx, "refreshing the storage account key", "account", bc.Account)
			s.forget(bc.Account)
			continue
		}
		return bl, st, exists, err
	}
}

// status reads the blob's copy status; "" with exists false when the blob is absent.
func status(ctx context.Context, bl *blob.Client) (st blob.CopyStatusType, exists bool, err error) {
	p, err := bl.GetProperties(ctx, nil)
	if err != nil {
		if isNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	if p.CopyStatus == nil {
		// A blob not made by a copy: it is there, treat it as complete.
		return blob.CopyStatusTypeSuccess, true, nil
	}
	return *p.CopyStatus, true, nil
}

func (s *blobCopyService) apply(ctx context.Context, n *plan.Node, inv Inventory) (Result, error) {
	bc, rg, err := s.spec(n)
	if err != nil {
		return Result{}, err
	}
	fail := func(err error) (Result, error) {
		return Result{}, fmt.Errorf("azure: blob copy %s to %s/%s/%s: %w", n.Key, bc.Account, bc.Container, bc.Blob, err)
	}
	bl, st, exists, err := s.statusOf(ctx, rg, bc)
	if err != nil {
		return fail(err)
	}
	if !n.Managed {
		if !exists {
			return Result{}, &AdoptedError{Kind: n.Kind, ID: n.ID}
		}
		return Result{}, nil
	}
	if err := s.claim(ctx, n, exists, inv); err != nil {
		return Result{}, err
	}
	var res Result
	switch {
	case exists && st == blob.CopyStatusTypeSuccess:
		return res, nil
	case exists && st == blob.CopyStatusTypePending:
	default:
		if bc.SourceURL == "" {
			return fail(errors.New("no source URL"))
		}
		s.c.log.InfoContext(ctx, "starting blob copy", "key", n.Key, "source", bc.SourceURL, "previous", string(st))
		if _, err := bl.StartCopyFromURL(ctx, bc.SourceURL, nil); err != nil {
			return fail(err)
		}
		res.Wrote = true
	}
	if err := s.waitCopy(ctx, bl); err != nil {
		return res, fmt.Errorf("azure: blob copy %s to %s/%s/%s: %w", n.Key, bc.Account, bc.Container, bc.Blob, err)
	}
	return res, nil
}

// claim records n in the inventory once the blob is known to be this cluster's: absent, or
// existing and in a container of this cluster (blobs carry no tags). A blob of the same name
// in a container the cluster does not manage (the user's) is a *ConflictError.
func (s *blobCopyService) claim(ctx context.Context, n *plan.Node, exists bool, inv Inventory) error {
	if inv == nil {
		return fmt.Errorf("azure: %s %s: no inventory to record it in", n.Kind, n.Key)
	}
	container, _, _ := strings.Cut(n.ID, "/blobs/")
	f := ownerFacts{Recorded: inv.Manages(n.ID), Want: inv.Owner(), ParentRecorded: inv.Manages(container)}
	return claim(ctx, n, inv, exists, f, container)
}

// waitCopy polls the blob until its copy ends. Azure gives no Retry-After for a copy, so the
// next poll is planned from the copy's own progress (x-ms-copy-progress: bytes copied of
// total): when it can be estimated, at the time the copy should end; until then after a
// delay that doubles from minCopyPoll. Every wait is capped at the clients' poll frequency.
func (s *blobCopyService) waitCopy(ctx context.Context, bl *blob.Client) error {
	var est copyEstimator
	for {
		p, err := bl.GetProperties(ctx, nil)
		if err != nil {
			return err
		}
		st := blob.CopyStatusTypeSuccess
		if p.CopyStatus != nil {
			st = *p.CopyStatus
		}
		switch st {
		case blob.CopyStatusTypeSuccess:
			return nil
		case blob.CopyStatusTypeFailed, blob.CopyStatusTypeAborted:
			return fmt.Errorf("copy %s: %s", st, strings.TrimSpace(deref(p.CopyStatusDescription)))
		}
		if err := sleep(ctx, est.next(time.Now(), deref(p.CopyProgress), s.c.poll)); err != nil {
			return err
		}
	}
}

// minCopyPoll is the first and shortest wait between two polls of a pending copy.
const minCopyPoll = 20 * time.Millisecond

// copyEstimator plans the polls of one pending copy from its progress.
type copyEstimator struct {
	first       time.Time // when progress was first seen
	firstCopied int64
	backoff     time.Duration // the wait when the end cannot be estimated yet
}

// next returns how long to wait before the next poll, given the copy's progress
// ("copied/total") read at now; maxWait caps it.
func (e *copyEstimator) next(now time.Time, progress string, maxWait time.Duration) time.Duration {
	e.backoff = min(max(2*e.backoff, minCopyPoll), maxWait)
	copied, total, ok := parseCopyProgress(progress)
	switch {
	case !ok:
		return e.backoff
	case e.first.IsZero():
		e.first, e.firstCopied = now, copied
		return e.backoff
	}
	elapsed, done := now.Sub(e.first), copied-e.firstCopied
	if done <= 0 || elapsed <= 0 {
		return e.backoff
	}
	left := time.Duration(float64(elapsed) * float64(total-copied) / float64(done))
	return min(max(left, minCopyPoll), maxWait)
}

// parseCopyProgress reads x-ms-copy-progress, "bytes copied/total bytes".
func parseCopyProgress(s string) (copied, total int64, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found {
		return 0, 0, false
	}
	copied, err1 := strconv.ParseInt(a, 10, 64)
	total, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || copied < 0 || total <= 0 || copied > total {
		return 0, 0, false
	}
	return copied, total, true
}

func (s *blobCopyService) delete(ctx context.Context, n *plan.Node, _ Inventory) error {
	bc, rg, err := s.spec(n)
	if err != nil {
		return err
	}
	bl, err := s.client(ctx, rg, bc)
	if err != nil {
		if isNotFound(err) {
			return nil // the account is gone, and the blob with it
		}
		return fmt.Errorf("azure: deleting blob %s/%s/%s: %w", bc.Account, bc.Container, bc.Blob, err)
	}
	if _, err := bl.Delete(ctx, nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("azure: deleting blob %s/%s/%s: %w", bc.Account, bc.Container, bc.Blob, err)
	}
	return nil
}

func (s *blobCopyService) observe(ctx context.Context, n *plan.Node) (Observation, error) {
	bc, rg, err := s.spec(n)
	if err != nil {
		return Observation{}, err
	}
	_, st, exists, err := s.statusOf(ctx, rg, bc)
	if isNotFound(err) {
		return Observation{}, nil // the account is gone
	}
	if err != nil {
		return Observation{}, fmt.Errorf("azure: reading blob %s/%s/%s: %w", bc.Account, bc.Container, bc.Blob, err)
	}
	return Observation{Exists: exists, UpToDate: exists && st == blob.CopyStatusTypeSuccess}, nil
}
