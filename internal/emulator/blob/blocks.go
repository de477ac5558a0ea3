package blob

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// putBlock answers Put Block: the block is staged, creating an invisible blob if needed.
func (s *Service) putBlock(req *request) error {
	id := req.r.URL.Query().Get("blockid")
	if raw, err := base64.StdEncoding.DecodeString(id); err != nil || len(raw) == 0 || len(raw) > 64 {
		return newError(http.StatusBadRequest, "InvalidQueryParameterValue",
			"Value for one of the query parameters specified in the request URI is invalid. (blockid)")
	}
	if req.r.ContentLength > 4000<<20 {
		return newError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
	}
	body, err := readBody(req.r)
	if err != nil {
		return err
	}
	if v := req.r.Header.Get("Content-MD5"); v != "" {
		sum := md5.Sum(body)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			return newError(http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	b, ok := c.Blobs[req.t.blob]
	if !ok {
		b = &blobRecord{Name: req.t.blob, Type: typeBlock, Created: req.now, Modified: req.now}
		c.Blobs[b.Name] = b
	}
	if b.Type != typeBlock {
		return errInvalidBlobType()
	}
	sb := stagedBlock{ID: id, DataID: newID(), Size: int64(len(body))}
	if err := s.data.create(sb.DataID, sb.Size); err != nil {
		return err
	}
	if err := s.data.writeAt(sb.DataID, body, 0); err != nil {
		return err
	}
	b.Uncommitted = slices.DeleteFunc(b.Uncommitted, func(u stagedBlock) bool {
		if u.ID == id {
			_ = s.data.remove(u.DataID)
			return true
		}
		return false
	})
	b.Uncommitted = append(b.Uncommitted, sb)
	if err := s.saveLocked(); err != nil {
		return err
	}
	sum := md5.Sum(body)
	rh := req.w.Header()
	rh.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	rh.Set("x-ms-request-server-encrypted", "true")
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

// blockListRequest is the body of Put Block List, entries in order.
type blockListRequest struct {
	Entries []blockEntry `xml:",any"`
}

type blockEntry struct {
	XMLName xml.Name
	ID      string `xml:",chardata"`
}

// putBlockList answers Put Block List: the blob becomes the listed blocks, taken from the
// staged ("Uncommitted", or "Latest") or the committed ("Committed", or "Latest") ones.
func (s *Service) putBlockList(req *request) error {
	raw, err := io.ReadAll(io.LimitReader(req.r.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("read block list: %w", err)
	}
	var list blockListRequest
	if err := xml.Unmarshal(raw, &list); err != nil {
		return newError(http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.")
	}
	props, err := propsFromHeaders(req.r.Header, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	old, ok := c.Blobs[req.t.blob]
	if !ok {
		old = &blobRecord{Name: req.t.blob, Type: typeBlock, Created: req.now}
	}
	if old.Type != typeBlock {
		return errInvalidBlobType()
	}
	var cond *blobRecord
	if old.Committed {
		cond = old
	}
	if err := checkConditions(req.r.Header, cond, false); err != nil {
		return err
	}
	committedAt := map[string]int64{}
	committedSize := map[string]int64{}
	var off int64
	for _, bl := range old.Blocks {
		committedAt[bl.ID], committedSize[bl.ID] = off, bl.Size
		off += bl.Size
	}
	staged := map[string]stagedBlock{}
	for _, u := range old.Uncommitted {
		staged[u.ID] = u
	}
	nb := &blobRecord{
		Name: old.Name, Type: typeBlock, Committed: true, DataID: newID(), Created: old.Created,
		Modified: req.now, Props: props, Metadata: metadataFromHeaders(req.r.Header),
	}
	if !old.Committed {
		nb.Created = req.now
	}
	if err := s.data.create(nb.DataID, 0); err != nil {
		return err
	}
	hash := md5.New()
	for _, e := range list.Entries {
		id := strings.TrimSpace(e.ID)
		var buf []byte
		u, isStaged := staged[id]
		_, isCommitted := committedAt[id]
		switch {
		case (e.XMLName.Local == "Uncommitted" || e.XMLName.Local == "Latest") && isStaged:
			buf = make([]byte, u.Size)
			err = s.data.readAt(u.DataID, buf, 0)
		case (e.XMLName.Local == "Committed" || e.XMLName.Local == "Latest") && isCommitted:
			buf = make([]byte, committedSize[id])
			err = s.data.readAt(old.DataID, buf, committedAt[id])
		default:
			_ = s.data.remove(nb.DataID)
			return newError(http.StatusBadRequest, "InvalidBlockList", "The specified block list is invalid.")
		}
		if err != nil {
			_ = s.data.remove(nb.DataID)
			return err
		}
		if err := s.data.writeAt(nb.DataID, buf, nb.Size); err != nil {
			return err
		}
		hash.Write(buf)
		nb.Size += int64(len(buf))
		nb.Blocks = append(nb.Blocks, blockRef{ID: id, Size: int64(len(buf))})
	}
	if props.ContentMD5 == nil {
		nb.Props.ContentMD5 = hash.Sum(nil)
	}
	if err := s.data.truncate(nb.DataID, nb.Size); err != nil {
		return err
	}
	nb.ETag = s.newETag()
	s.dropBlobData(old) // the old bytes and every staged block: staged blocks do not survive a commit
	c.Blobs[nb.Name] = nb
	if err := s.saveLocked(); err != nil {
		return err
	}
	rh := req.w.Header()
	rh.Set("ETag", nb.ETag)
	setHTTPTime(rh, "Last-Modified", nb.Modified)
	rh.Set("x-ms-request-server-encrypted", "true")
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

type blockListXML struct {
	XMLName     xml.Name       `xml:"BlockList"`
	Committed   []blockItemXML `xml:"CommittedBlocks>Block"`
	Uncommitted []blockItemXML `xml:"UncommittedBlocks>Block"`
}

type blockItemXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

// blockList answers Get Block List (blocklisttype committed, uncommitted or all).
func (s *Service) blockList(req *request) error {
	kind := req.r.URL.Query().Get("blocklisttype")
	if kind == "" {
		kind = "committed"
	}
	s.mu.RLock()
	c, err := req.lookupContainer()
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	b, ok := c.Blobs[req.t.blob]
	if !ok {
		s.mu.RUnlock()
		return errBlobNotFound()
	}
	if b.Type != typeBlock {
		s.mu.RUnlock()
		return errInvalidBlobType()
	}
	out := blockListXML{}
	if kind == "committed" || kind == "all" {
		for _, bl := range b.Blocks {
			out.Committed = append(out.Committed, blockItemXML{Name: bl.ID, Size: bl.Size})
		}
	}
	if kind == "uncommitted" || kind == "all" {
		for _, u := range b.Uncommitted {
			out.Uncommitted = append(out.Uncommitted, blockItemXML{Name: u.ID, Size: u.Size})
		}
	}
	h := req.w.Header()
	if b.Committed {
		h.Set("ETag", b.ETag)
		setHTTPTime(h, "Last-Modified", b.Modified)
	}
	h.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	s.mu.RUnlock()
	return writeXML(req.w, http.StatusOK, out)
}
