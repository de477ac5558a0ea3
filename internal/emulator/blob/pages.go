package blob

import (
	"cmp"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
)

func errInvalidPageRange() *storageError {
	return newError(http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange", "The page range specified is invalid.")
}

// putPage answers Put Page: x-ms-page-write update (with a body) or clear, on a range aligned
// to 512 bytes within the blob.
func (s *Service) putPage(req *request) error {
	h := req.r.Header
	rg, err := parseRange(h)
	if err != nil {
		return err
	}
	if rg == nil || rg.end < 0 {
		return errMissingHeader("x-ms-range")
	}
	write := h.Get("x-ms-page-write")
	var body []byte
	switch write {
	case "update":
		if req.r.ContentLength%pageSize != 0 {
			return newError(http.StatusBadRequest, "InvalidOperation", "content-length or x-ms-content-length must be aligned to a 512-byte boundary.")
		}
		if body, err = readBody(req.r); err != nil {
			return err
		}
	case "clear":
		if req.r.ContentLength > 0 {
			return newError(http.StatusBadRequest, "InvalidOperation", "content-length or x-ms-content-length must be 0 for clear pages operation.")
		}
	default:
		return errInvalidHeader("x-ms-page-write")
	}
	if rg.start%pageSize != 0 || (rg.end+1)%pageSize != 0 {
		return errInvalidPageRange()
	}
	if write == "update" && int64(len(body)) != rg.end-rg.start+1 {
		return newError(http.StatusBadRequest, "InvalidHeaderValue", "The range %d-%d does not match the body of %d bytes.", rg.start, rg.end, len(body))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	_, b, err := req.lookupBlob()
	if err != nil {
		return err
	}
	if b.Type != typePage {
		return errInvalidBlobType()
	}
	if err := checkConditions(h, b, false); err != nil {
		return err
	}
	if rg.end >= b.Size {
		return errInvalidPageRange()
	}
	if write == "update" {
		if err := s.data.writeAt(b.DataID, body, rg.start); err != nil {
			return err
		}
		b.Pages = addRange(b.Pages, pageRange{rg.start, rg.end + 1})
	} else {
		if err := s.data.writeAt(b.DataID, make([]byte, rg.end-rg.start+1), rg.start); err != nil {
			return err
		}
		b.Pages = removeRange(b.Pages, pageRange{rg.start, rg.end + 1})
	}
	b.Modified, b.ETag = req.now, s.newETag()
	if err := s.saveLocked(); err != nil {
		return err
	}
	rh := req.w.Header()
	rh.Set("ETag", b.ETag)
	setHTTPTime(rh, "Last-Modified", b.Modified)
	rh.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.Sequence, 10))
	rh.Set("x-ms-request-server-encrypted", "true")
	if write == "update" {
		sum := md5.Sum(body)
		rh.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

// addRange merges r into the sorted, disjoint ranges rs.
func addRange(rs []pageRange, r pageRange) []pageRange {
	out := make([]pageRange, 0, len(rs)+1)
	for _, x := range rs {
		switch {
		case x.End < r.Start:
			out = append(out, x)
		case x.Start > r.End:
			out = append(out, x)
		default:
			r.Start, r.End = min(r.Start, x.Start), max(r.End, x.End)
		}
	}
	out = append(out, r)
	slices.SortFunc(out, func(a, b pageRange) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// removeRange removes r from the sorted, disjoint ranges rs.
func removeRange(rs []pageRange, r pageRange) []pageRange {
	var out []pageRange
	for _, x := range rs {
		if x.End <= r.Start || x.Start >= r.End {
			out = append(out, x)
			continue
		}
		if x.Start < r.Start {
			out = append(out, pageRange{x.Start, r.Start})
		}
		if x.End > r.End {
			out = append(out, pageRange{r.End, x.End})
		}
	}
	return out
}

type pageListXML struct {
	XMLName xml.Name       `xml:"PageList"`
	Ranges  []pageRangeXML `xml:"PageRange"`
}

type pageRangeXML struct {
	Start int64 `xml:"Start"`
	End   int64 `xml:"End"`
}

// pageRanges answers Get Page Ranges, optionally within a range; no continuation.
func (s *Service) pageRanges(req *request) error {
	rg, err := parseRange(req.r.Header)
	if err != nil {
		return err
	}
	s.mu.RLock()
	_, b, err := req.lookupBlob()
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	if b.Type != typePage {
		s.mu.RUnlock()
		return errInvalidBlobType()
	}
	out := pageListXML{}
	for _, p := range b.Pages {
		if rg != nil {
			end := rg.end + 1
			if rg.end < 0 {
				end = b.Size
			}
			p.Start, p.End = max(p.Start, rg.start), min(p.End, end)
			if p.Start >= p.End {
				continue
			}
		}
		out.Ranges = append(out.Ranges, pageRangeXML{Start: p.Start, End: p.End - 1})
	}
	h := req.w.Header()
	h.Set("ETag", b.ETag)
	setHTTPTime(h, "Last-Modified", b.Modified)
	h.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	s.mu.RUnlock()
	return writeXML(req.w, http.StatusOK, out)
}
