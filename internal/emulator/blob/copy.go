package blob

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Copy states (x-ms-copy-status).
const (
	copyPending = "pending"
	copySuccess = "success"
	copyAborted = "aborted"
	copyFailed  = "failed"
)

// copyState is the last copy into a blob. A pending copy succeeds at Completes: the state is
// evaluated against the clock when read, so it survives restarts without timers.
type copyState struct {
	ID          string    `json:"id"`
	Source      string    `json:"source"`
	Status      string    `json:"status"`
	Total       int64     `json:"total"`
	Started     time.Time `json:"started"`
	Completes   time.Time `json:"completes"`
	Ended       time.Time `json:"ended,omitzero"`
	Copied      int64     `json:"copied,omitempty"` // bytes copied when it ended other than by success
	Description string    `json:"description,omitempty"`
}

// copyView is a copy's state at some instant.
type copyView struct {
	status    string
	copied    int64
	completed time.Time
}

// view evaluates the copy at now: a pending copy reports linear progress, then succeeds.
func (c *copyState) view(now time.Time) copyView {
	switch {
	case c.Status != copyPending:
		copied := c.Copied
		if c.Status == copySuccess {
			copied = c.Total
		}
		return copyView{status: c.Status, copied: copied, completed: c.Ended}
	case !now.Before(c.Completes):
		return copyView{status: copySuccess, copied: c.Total, completed: c.Completes}
	}
	d := c.Completes.Sub(c.Started)
	copied := int64(0)
	if d > 0 {
		copied = int64(float64(c.Total) * float64(now.Sub(c.Started)) / float64(d))
		copied -= copied % pageSize
		copied = min(max(copied, 0), c.Total)
	}
	return copyView{status: copyPending, copied: copied}
}

// copySource is a parsed x-ms-copy-source.
type copySource struct {
	url   *url.URL
	t     target
	https bool
}

// parseCopySource reads a path-style source URL (https://host/account/container/blob[?SAS]),
// or a virtual-host one (https://account.blob.…/container/blob).
func (s *Service) parseCopySource(raw string) (copySource, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return copySource{}, errInvalidHeader("x-ms-copy-source")
	}
	src := copySource{url: u, https: u.Scheme == "https"}
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 3)
	host := u.Hostname()
	s.mu.RLock()
	_, pathAccount := s.accounts[parts[0]]
	s.mu.RUnlock()
	if first, _, ok := strings.Cut(host, ".blob."); ok && !pathAccount {
		parts = append([]string{first}, strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)...)
	}
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	src.t = target{account: parts[0], container: parts[1], blob: parts[2]}
	if src.t.container == "" || src.t.blob == "" {
		return copySource{}, errInvalidHeader("x-ms-copy-source")
	}
	return src, nil
}

func errCannotVerifyCopySource(status int, msg string) *storageError {
	return newError(status, "CannotVerifyCopySource", "%s", msg)
}

// authorizeSource checks that the copy source may be read by this copy: same account without
// a SAS (the destination's credentials cover it), a valid SAS with read permission, or a
// public container. The caller holds s.mu for reading.
func (s *Service) authorizeSource(req *request, src copySource) *storageError {
	acct, ok := s.accounts[src.t.account]
	if !ok {
		return errCannotVerifyCopySource(http.StatusNotFound, "The specified resource does not exist.")
	}
	q := src.url.Query()
	readBlob := access{level: levelObject, perms: "r", public: publicBlob, read: true}
	switch {
	case q.Get("sig") != "":
		if err := s.checkSAS(q, acct, src.t, readBlob, src.https, remoteIP(req.r)); err != nil {
			return errCannotVerifyCopySource(http.StatusForbidden, err.Message)
		}
	case src.t.account == req.acct.Name:
	default:
		if err := s.checkPublic(acct, src.t, readBlob); err != nil {
			return errCannotVerifyCopySource(http.StatusForbidden,
				"Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
		}
	}
	c, ok := acct.Containers[src.t.container]
	if !ok {
		return errCannotVerifyCopySource(http.StatusNotFound, "The specified container does not exist.")
	}
	if b, ok := c.Blobs[src.t.blob]; !ok || !b.Committed {
		return errCannotVerifyCopySource(http.StatusNotFound, "The specified blob does not exist.")
	}
	return nil
}

// redactSAS returns a copy source URL without its signature, as the service reports it.
func redactSAS(u *url.URL) string {
	c := *u
	q := c.Query()
	if q.Has("sig") {
		q.Del("sig")
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// copyBlob answers Copy Blob (asynchronous: 202 pending, success after CopyDuration), Copy Blob
// From URL (x-ms-requires-sync: synchronous, 202 success) and Put Blob From URL
// (x-ms-blob-type BlockBlob: 201).
func (s *Service) copyBlob(req *request) error {
	h := req.r.Header
	if !validBlobName(req.t.blob) {
		return newError(http.StatusBadRequest, "InvalidResourceName", "The specified resource name length is not within the permissible limits.")
	}
	src, err := s.parseCopySource(h.Get("x-ms-copy-source"))
	if err != nil {
		return err
	}
	putFromURL := h.Get("x-ms-blob-type") != ""
	if putFromURL && h.Get("x-ms-blob-type") != typeBlock {
		return errInvalidHeader("x-ms-blob-type")
	}
	sync := putFromURL || strings.EqualFold(h.Get("x-ms-requires-sync"), "true")

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.authorizeSource(req, src); err != nil {
		return err
	}
	sb := s.accounts[src.t.account].Containers[src.t.container].Blobs[src.t.blob]
	if sb.Copy != nil && sb.Copy.view(req.now).status == copyPending {
		return newError(http.StatusConflict, "PendingCopyOperation", "There is currently a pending copy operation.")
	}
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	old := c.Blobs[req.t.blob]
	if old != nil && !old.Committed {
		old = nil
	}
	if err := checkConditions(h, old, false); err != nil {
		return err
	}
	if old != nil && old.Copy != nil && old.Copy.view(req.now).status == copyPending {
		return newError(http.StatusConflict, "PendingCopyOperation", "There is currently a pending copy operation.")
	}
	if sync && sb.Size > 256<<20 {
		return newError(http.StatusBadRequest, "CannotVerifyCopySource", "The source blob of a synchronous copy must be 256 MiB or less.")
	}

	nb := &blobRecord{
		Name: req.t.blob, Type: sb.Type, Committed: true, DataID: newID(), Size: sb.Size,
		Created: req.now, Modified: req.now, Props: sb.Props, Metadata: sb.Metadata,
		Sequence: sb.Sequence, Pages: append([]pageRange(nil), sb.Pages...),
	}
	if putFromURL {
		nb.Type, nb.Pages, nb.Sequence = typeBlock, nil, 0
		if p, err := propsFromHeaders(h, false); err == nil && h.Get("x-ms-blob-content-type") != "" {
			nb.Props = p
		}
	}
	if md := metadataFromHeaders(h); md != nil {
		nb.Metadata = md
	}
	if old != nil {
		nb.Created = old.Created
	}
	if err := s.copyData(sb, nb); err != nil {
		return err
	}
	if old != nil && old.Copy != nil {
		nb.Copy = old.Copy // replaced below unless this is Put Blob From URL
	}
	if !putFromURL {
		d := time.Duration(0)
		if !sync {
			d = s.copyDuration(sb.Size)
		}
		nb.Copy = &copyState{
			ID: uuid.NewString(), Source: redactSAS(src.url), Status: copyPending, Total: sb.Size,
			Started: req.now, Completes: req.now.Add(max(d, 0)),
		}
		if d <= 0 {
			nb.Copy.Status, nb.Copy.Ended = copySuccess, req.now
		}
	}
	nb.ETag = s.newETag()
	s.replaceBlob(c, nb)
	if err := s.saveLocked(); err != nil {
		return err
	}
	s.log.Info("blob: copy started", "source", redactSAS(src.url), "destination",
		req.t.account+"/"+req.t.container+"/"+req.t.blob, "bytes", sb.Size, "sync", sync)

	rh := req.w.Header()
	rh.Set("ETag", nb.ETag)
	setHTTPTime(rh, "Last-Modified", nb.Modified)
	if putFromURL {
		rh.Set("x-ms-request-server-encrypted", "true")
		req.w.WriteHeader(http.StatusCreated)
		return nil
	}
	v := nb.Copy.view(req.now)
	rh.Set("x-ms-copy-id", nb.Copy.ID)
	rh.Set("x-ms-copy-status", v.status)
	req.w.WriteHeader(http.StatusAccepted)
	return nil
}

// copyData copies the bytes of src into the new object of dst: the written pages of a page
// blob, everything of a block blob. The caller holds s.mu.
func (s *Service) copyData(src, dst *blobRecord) error {
	if err := s.data.create(dst.DataID, dst.Size); err != nil {
		return err
	}
	ranges := src.Pages
	if src.Type != typePage {
		ranges = []pageRange{{0, src.Size}}
	}
	const step = 4 << 20
	buf := make([]byte, step)
	for _, r := range ranges {
		for off := r.Start; off < r.End; off += step {
			chunk := buf[:min(step, r.End-off)]
			if err := s.data.readAt(src.DataID, chunk, off); err != nil {
				return fmt.Errorf("copy: %w", err)
			}
			if err := s.data.writeAt(dst.DataID, chunk, off); err != nil {
				return fmt.Errorf("copy: %w", err)
			}
		}
	}
	if dst.Type == typeBlock && src.Type == typeBlock {
		dst.Blocks = append([]blockRef(nil), src.Blocks...)
	}
	return nil
}

// abortCopy answers Abort Copy Blob (x-ms-copy-action: abort): a pending copy becomes
// aborted and the destination is left empty.
func (s *Service) abortCopy(req *request) error {
	if req.r.Header.Get("x-ms-copy-action") != "abort" {
		return errInvalidHeader("x-ms-copy-action")
	}
	id := req.r.URL.Query().Get("copyid")
	s.mu.Lock()
	defer s.mu.Unlock()
	_, b, err := req.lookupBlob()
	if err != nil {
		return err
	}
	if b.Copy == nil || b.Copy.ID != id {
		return newError(http.StatusConflict, "CopyIdMismatch", "The specified copy ID did not match the copy ID for the pending copy operation.")
	}
	v := b.Copy.view(req.now)
	if v.status != copyPending {
		return newError(http.StatusConflict, "NoPendingCopyOperation", "There is currently no pending copy operation.")
	}
	b.Copy.Status, b.Copy.Ended, b.Copy.Copied = copyAborted, req.now, v.copied
	b.Copy.Description = "Copy was aborted by the client."
	if err := s.data.truncate(b.DataID, 0); err != nil {
		return err
	}
	b.Size, b.Pages, b.Blocks = 0, nil, nil
	b.Modified, b.ETag = req.now, s.newETag()
	if err := s.saveLocked(); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}
