package blob

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Blob types as the service names them.
const (
	typeBlock = "BlockBlob"
	typePage  = "PageBlob"
)

// pageSize is the unit of page blob sizes and writes.
const pageSize = 512

// maxPutBlob is the largest single Put Blob or Put Block body accepted.
const maxPutBlob = 5000 << 20

// blobRecord is a blob's metadata; its bytes are in the data store under DataID.
type blobRecord struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Committed is false for a blob that so far has only staged blocks: it is invisible.
	Committed bool              `json:"committed"`
	DataID    string            `json:"dataId"`
	Size      int64             `json:"size"`
	Created   time.Time         `json:"created"`
	Modified  time.Time         `json:"modified"`
	ETag      string            `json:"etag"`
	Props     contentProps      `json:"props"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Sequence  int64             `json:"sequence,omitempty"`
	// Pages are the written ranges of a page blob, sorted and merged.
	Pages []pageRange `json:"pages,omitempty"`
	// Blocks is the committed block list of a block blob.
	Blocks []blockRef `json:"blocks,omitempty"`
	// Uncommitted are staged blocks, in staging order.
	Uncommitted []stagedBlock `json:"uncommitted,omitempty"`
	Copy        *copyState    `json:"copy,omitempty"`
}

// contentProps are the standard HTTP properties of a blob.
type contentProps struct {
	ContentType        string `json:"contentType,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	CacheControl       string `json:"cacheControl,omitempty"`
	ContentMD5         []byte `json:"contentMD5,omitempty"`
}

// pageRange is the byte range [Start, End).
type pageRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

type blockRef struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

type stagedBlock struct {
	ID     string `json:"id"`
	DataID string `json:"dataId"`
	Size   int64  `json:"size"`
}

// propsFromHeaders reads the blob HTTP properties of a create request: x-ms-blob-* headers,
// and for Put Blob the body's Content-* headers when the x-ms-blob-* one is absent.
func propsFromHeaders(h http.Header, withBody bool) (contentProps, error) {
	get := func(name string) string {
		if v := h.Get("x-ms-blob-" + name); v != "" || !withBody {
			return v
		}
		return h.Get(name)
	}
	p := contentProps{
		ContentType:        get("Content-Type"),
		ContentEncoding:    get("Content-Encoding"),
		ContentLanguage:    get("Content-Language"),
		ContentDisposition: get("Content-Disposition"),
		CacheControl:       get("Cache-Control"),
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		md5sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(md5sum) != md5.Size {
			return p, errInvalidHeader("x-ms-blob-content-md5")
		}
		p.ContentMD5 = md5sum
	}
	if p.ContentType == "" {
		p.ContentType = "application/octet-stream"
	}
	return p, nil
}

// lookupBlob returns the addressed committed blob; the caller holds s.mu.
func (req *request) lookupBlob() (*containerRec, *blobRecord, error) {
	c, err := req.lookupContainer()
	if err != nil {
		return nil, nil, err
	}
	b, ok := c.Blobs[req.t.blob]
	if !ok || !b.Committed {
		return c, nil, errBlobNotFound()
	}
	return c, b, nil
}

// checkConditions applies If-Match / If-None-Match / If-(Un)Modified-Since of a request to b
// (nil when the blob does not exist).
func checkConditions(h http.Header, b *blobRecord, read bool) error {
	failed := func() error {
		if read {
			return newError(http.StatusNotModified, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
		}
		return newError(http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	}
	if v := h.Get("If-Match"); v != "" && (b == nil || (v != "*" && v != b.ETag)) {
		return newError(http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	}
	if v := h.Get("If-None-Match"); v != "" && b != nil {
		if v == "*" && !read {
			return newError(http.StatusConflict, "BlobAlreadyExists", "The specified blob already exists.")
		}
		if v == "*" || v == b.ETag {
			return failed()
		}
	}
	if b != nil {
		if v := h.Get("If-Modified-Since"); v != "" {
			if t, err := http.ParseTime(v); err == nil && !b.Modified.Truncate(time.Second).After(t) {
				return failed()
			}
		}
		if v := h.Get("If-Unmodified-Since"); v != "" {
			if t, err := http.ParseTime(v); err == nil && b.Modified.Truncate(time.Second).After(t) {
				return newError(http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
			}
		}
	}
	return nil
}

// replaceBlob stores nb as the blob named nb.Name of c, dropping the data of what it replaces;
// the caller holds s.mu.
func (s *Service) replaceBlob(c *containerRec, nb *blobRecord) {
	if old, ok := c.Blobs[nb.Name]; ok {
		if old.DataID != nb.DataID {
			s.dropBlobData(old)
		} else {
			for _, u := range old.Uncommitted {
				_ = s.data.remove(u.DataID)
			}
		}
	}
	c.Blobs[nb.Name] = nb
}

func validBlobName(n string) bool {
	return n != "" && len(n) <= 1024
}

// putBlob answers Put Blob for block blobs (with the body) and page blobs (empty, sized by
// x-ms-blob-content-length, a multiple of 512).
func (s *Service) putBlob(req *request) error {
	h := req.r.Header
	if !validBlobName(req.t.blob) {
		return newError(http.StatusBadRequest, "InvalidResourceName", "The specified resource name length is not within the permissible limits.")
	}
	props, err := propsFromHeaders(h, true)
	if err != nil {
		return err
	}
	nb := &blobRecord{
		Name: req.t.blob, Committed: true, DataID: newID(), Created: req.now, Modified: req.now,
		Props: props, Metadata: metadataFromHeaders(h),
	}
	var body []byte
	switch bt := h.Get("x-ms-blob-type"); bt {
	case typeBlock:
		nb.Type = typeBlock
		if req.r.ContentLength > maxPutBlob {
			return newError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
		}
		if body, err = readBody(req.r); err != nil {
			return err
		}
		sum := md5.Sum(body)
		if v := h.Get("Content-MD5"); v != "" && v != base64.StdEncoding.EncodeToString(sum[:]) {
			return newError(http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
		}
		if props.ContentMD5 == nil {
			nb.Props.ContentMD5 = sum[:]
		}
		nb.Size = int64(len(body))
	case typePage:
		nb.Type = typePage
		if req.r.ContentLength > 0 {
			return newError(http.StatusBadRequest, "InvalidOperation", "Content-Length must be 0 for Create Page Blob request.")
		}
		v := h.Get("x-ms-blob-content-length")
		if v == "" {
			return errMissingHeader("x-ms-blob-content-length")
		}
		size, err := strconv.ParseInt(v, 10, 64)
		if err != nil || size < 0 || size%pageSize != 0 || size > 8<<40 {
			return errInvalidHeader("x-ms-blob-content-length")
		}
		nb.Size = size
		if v := h.Get("x-ms-blob-sequence-number"); v != "" {
			if nb.Sequence, err = strconv.ParseInt(v, 10, 64); err != nil || nb.Sequence < 0 {
				return errInvalidHeader("x-ms-blob-sequence-number")
			}
		}
	case "":
		return errMissingHeader("x-ms-blob-type")
	case "AppendBlob":
		return errUnsupported("append blobs")
	default:
		return errInvalidHeader("x-ms-blob-type")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
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
	if err := s.data.create(nb.DataID, nb.Size); err != nil {
		return err
	}
	if len(body) > 0 {
		if err := s.data.writeAt(nb.DataID, body, 0); err != nil {
			return err
		}
	}
	nb.ETag = s.newETag()
	s.replaceBlob(c, nb)
	if err := s.saveLocked(); err != nil {
		return err
	}
	rh := req.w.Header()
	rh.Set("ETag", nb.ETag)
	setHTTPTime(rh, "Last-Modified", nb.Modified)
	rh.Set("x-ms-request-server-encrypted", "true")
	if nb.Type == typeBlock {
		rh.Set("Content-MD5", base64.StdEncoding.EncodeToString(nb.Props.ContentMD5))
	}
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

// readBody reads a request body, checking it against the declared Content-Length.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPutBlob+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if r.ContentLength >= 0 && int64(len(body)) != r.ContentLength {
		return nil, newError(http.StatusBadRequest, "InvalidInput",
			"The request body is %d bytes, but Content-Length is %d.", len(body), r.ContentLength)
	}
	return body, nil
}

// byteRange is an inclusive byte range of a Range or x-ms-range header.
type byteRange struct {
	start, end int64 // end is -1 for "to the end"
}

// parseRange parses "bytes=start-" or "bytes=start-end" of x-ms-range (preferred) or Range.
func parseRange(h http.Header) (*byteRange, error) {
	name := "x-ms-range"
	v := h.Get(name)
	if v == "" {
		name = "Range"
		v = h.Get(name)
	}
	if v == "" {
		return nil, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return nil, errInvalidHeader(name)
	}
	from, to, ok := strings.Cut(spec, "-")
	if !ok {
		return nil, errInvalidHeader(name)
	}
	start, err := strconv.ParseInt(from, 10, 64)
	if err != nil || start < 0 {
		return nil, errInvalidHeader(name)
	}
	rg := &byteRange{start: start, end: -1}
	if to != "" {
		end, err := strconv.ParseInt(to, 10, 64)
		if err != nil || end < start {
			return nil, errInvalidHeader(name)
		}
		rg.end = end
	}
	return rg, nil
}

// setBlobHeaders sets the properties headers of Get Blob and Get Blob Properties.
func (s *Service) setBlobHeaders(h http.Header, b *blobRecord, now time.Time) {
	h.Set("ETag", b.ETag)
	setHTTPTime(h, "Last-Modified", b.Modified)
	setHTTPTime(h, "x-ms-creation-time", b.Created)
	h.Set("x-ms-blob-type", b.Type)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", b.Props.ContentType)
	for name, v := range map[string]string{
		"Content-Encoding": b.Props.ContentEncoding, "Content-Language": b.Props.ContentLanguage,
		"Content-Disposition": b.Props.ContentDisposition, "Cache-Control": b.Props.CacheControl,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	if b.Props.ContentMD5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.Props.ContentMD5))
	}
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-server-encrypted", "true")
	if b.Type == typePage {
		h.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.Sequence, 10))
	} else {
		h.Set("x-ms-access-tier", "Hot")
		h.Set("x-ms-access-tier-inferred", "true")
	}
	setMetadataHeaders(h, b.Metadata)
	if cp := b.Copy; cp != nil {
		v := cp.view(now)
		h.Set("x-ms-copy-id", cp.ID)
		h.Set("x-ms-copy-source", cp.Source)
		h.Set("x-ms-copy-status", v.status)
		h.Set("x-ms-copy-progress", fmt.Sprintf("%d/%d", v.copied, cp.Total))
		if !v.completed.IsZero() {
			setHTTPTime(h, "x-ms-copy-completion-time", v.completed)
		}
		if cp.Description != "" {
			h.Set("x-ms-copy-status-description", cp.Description)
		}
	}
}

// listProperties are the properties of b in a blob listing.
func (b *blobRecord) listProperties(now time.Time) blobProperties {
	p := blobProperties{
		CreationTime: b.Created.UTC().Format(http.TimeFormat), LastModified: b.Modified.UTC().Format(http.TimeFormat),
		ETag: b.ETag, ContentLength: b.Size, ContentType: b.Props.ContentType,
		ContentEncoding: b.Props.ContentEncoding, ContentLanguage: b.Props.ContentLanguage,
		ContentDisposition: b.Props.ContentDisposition, CacheControl: b.Props.CacheControl,
		BlobType: b.Type, LeaseStatus: "unlocked", LeaseState: "available", ServerEncrypted: true,
	}
	if b.Props.ContentMD5 != nil {
		p.ContentMD5 = base64.StdEncoding.EncodeToString(b.Props.ContentMD5)
	}
	if b.Type == typePage {
		seq := b.Sequence
		p.SequenceNumber = &seq
	} else {
		inferred := true
		p.AccessTier, p.AccessTierInferred = "Hot", &inferred
	}
	if cp := b.Copy; cp != nil {
		v := cp.view(now)
		p.CopyID, p.CopyStatus, p.CopySource = cp.ID, v.status, cp.Source
		p.CopyProgress = fmt.Sprintf("%d/%d", v.copied, cp.Total)
		if !v.completed.IsZero() {
			p.CopyCompletionTime = v.completed.UTC().Format(http.TimeFormat)
		}
		p.CopyStatusDesc = cp.Description
	}
	return p
}

// getBlob answers Get Blob (HEAD: Get Blob Properties), whole or for a range. The bytes are
// streamed without holding the service lock across the whole body.
func (s *Service) getBlob(req *request) error {
	rg, err := parseRange(req.r.Header)
	if err != nil {
		return err
	}
	s.mu.RLock()
	start, n, status, dataID, err := s.prepareGet(req, rg)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	req.w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	req.w.WriteHeader(status)
	if req.r.Method == http.MethodHead {
		return nil
	}
	s.copyOut(req, dataID, start, n)
	return nil
}

// prepareGet checks a Get Blob and sets its headers; the caller holds s.mu for reading. It
// returns the byte range to send, the status and the object to read.
func (s *Service) prepareGet(req *request, rg *byteRange) (start, n int64, status int, dataID string, err error) {
	_, b, err := req.lookupBlob()
	if err != nil {
		return 0, 0, 0, "", err
	}
	if err := checkConditions(req.r.Header, b, true); err != nil {
		return 0, 0, 0, "", err
	}
	h := req.w.Header()
	s.setBlobHeaders(h, b, req.now)
	start, end := int64(0), b.Size-1
	status = http.StatusOK
	if rg != nil && req.r.Method != http.MethodHead {
		if rg.start >= b.Size {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
			return 0, 0, 0, "", newError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange",
				"The range specified is invalid for the current size of the resource.")
		}
		if rg.end >= 0 && rg.end < end {
			end = rg.end
		}
		start = rg.start
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, b.Size))
		h.Del("Content-MD5")
		if req.r.Header.Get("x-ms-range-get-content-md5") == "true" && end-start+1 <= 4<<20 {
			buf := make([]byte, end-start+1)
			if err := s.data.readAt(b.DataID, buf, start); err != nil {
				return 0, 0, 0, "", err
			}
			sum := md5.Sum(buf)
			h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		}
		if b.Props.ContentMD5 != nil {
			h.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(b.Props.ContentMD5))
		}
	}
	return start, end - start + 1, status, b.DataID, nil
}

// copyOut streams n bytes of an object from off to the response, a chunk per read lock. A
// blob replaced meanwhile reads as zeros from then on, like a torn read.
func (s *Service) copyOut(req *request, id string, off, n int64) {
	const step = 1 << 20
	buf := make([]byte, min(n, step))
	for n > 0 {
		if req.ctx.Err() != nil {
			return // the client went away
		}
		chunk := buf[:min(n, step)]
		s.mu.RLock()
		err := s.data.readAt(id, chunk, off)
		s.mu.RUnlock()
		if err != nil {
			s.log.Error("blob: read data", "id", id, "err", err)
			return // headers are out: the client sees a short body
		}
		if _, err := req.w.Write(chunk); err != nil {
			return
		}
		off += int64(len(chunk))
		n -= int64(len(chunk))
	}
}

// getBlobMetadata answers Get Blob Metadata.
func (s *Service) getBlobMetadata(req *request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, b, err := req.lookupBlob()
	if err != nil {
		return err
	}
	h := req.w.Header()
	h.Set("ETag", b.ETag)
	setHTTPTime(h, "Last-Modified", b.Modified)
	setMetadataHeaders(h, b.Metadata)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// setBlobMetadata answers Set Blob Metadata.
func (s *Service) setBlobMetadata(req *request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, b, err := req.lookupBlob()
	if err != nil {
		return err
	}
	if err := checkConditions(req.r.Header, b, false); err != nil {
		return err
	}
	b.Metadata = metadataFromHeaders(req.r.Header)
	b.Modified, b.ETag = req.now, s.newETag()
	if err := s.saveLocked(); err != nil {
		return err
	}
	h := req.w.Header()
	h.Set("ETag", b.ETag)
	setHTTPTime(h, "Last-Modified", b.Modified)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// setBlobProperties answers Set Blob Properties: the HTTP properties, and for page blobs a
// resize (x-ms-blob-content-length) and the sequence number.
func (s *Service) setBlobProperties(req *request) error {
	h := req.r.Header
	props, err := propsFromHeaders(h, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, b, err := req.lookupBlob()
	if err != nil {
		return err
	}
	if err := checkConditions(h, b, false); err != nil {
		return err
	}
	if v := h.Get("x-ms-blob-content-length"); v != "" {
		size, err := strconv.ParseInt(v, 10, 64)
		if b.Type != typePage {
			return errInvalidBlobType()
		}
		if err != nil || size < 0 || size%pageSize != 0 {
			return errInvalidHeader("x-ms-blob-content-length")
		}
		if err := s.data.truncate(b.DataID, size); err != nil {
			return err
		}
		b.Pages = removeRange(b.Pages, pageRange{size, max(size, b.Size) + 1})
		b.Size = size
	}
	if v := h.Get("x-ms-blob-sequence-number"); v != "" && b.Type == typePage {
		switch h.Get("x-ms-sequence-number-action") {
		case "increment":
			b.Sequence++
		case "max", "update":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errInvalidHeader("x-ms-blob-sequence-number")
			}
			if h.Get("x-ms-sequence-number-action") == "update" || n > b.Sequence {
				b.Sequence = n
			}
		}
	}
	b.Props = props
	b.Modified, b.ETag = req.now, s.newETag()
	if err := s.saveLocked(); err != nil {
		return err
	}
	rh := req.w.Header()
	rh.Set("ETag", b.ETag)
	setHTTPTime(rh, "Last-Modified", b.Modified)
	if b.Type == typePage {
		rh.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.Sequence, 10))
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBlob answers Delete Blob: 202, the blob gone at once (no snapshots, no soft delete).
func (s *Service) deleteBlob(req *request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, b, err := req.lookupBlob()
	if err != nil {
		return err
	}
	if err := checkConditions(req.r.Header, b, false); err != nil {
		return err
	}
	s.dropBlobData(b)
	delete(c.Blobs, b.Name)
	if err := s.saveLocked(); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusAccepted)
	return nil
}
