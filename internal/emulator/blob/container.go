package blob

import (
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// validContainerName applies the naming rules: 3–63 lowercase letters, digits and '-',
// starting and ending with a letter or digit, no "--".
func validContainerName(n string) bool {
	if len(n) < 3 || len(n) > 63 || strings.Contains(n, "--") {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(n)-1:
		default:
			return false
		}
	}
	return true
}

func parsePublicAccess(v string) (string, error) {
	switch v {
	case "", "blob", "container":
		return v, nil
	}
	return "", errInvalidHeader("x-ms-blob-public-access")
}

// createContainer answers Create Container: 201, or 409 ContainerAlreadyExists.
func (s *Service) createContainer(req *request) error {
	name := req.t.container
	if !validContainerName(name) {
		return newError(http.StatusBadRequest, "InvalidResourceName", "The specified resource name contains invalid characters.")
	}
	pa, err := parsePublicAccess(req.r.Header.Get("x-ms-blob-public-access"))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := req.acct.Containers[name]; ok {
		return errContainerExists()
	}
	c := &containerRec{
		Name: name, Created: req.now, Modified: req.now, ETag: s.newETag(), PublicAccess: pa,
		Metadata: metadataFromHeaders(req.r.Header), Blobs: map[string]*blobRecord{},
	}
	req.acct.Containers[name] = c
	if err := s.saveLocked(); err != nil {
		return err
	}
	h := req.w.Header()
	h.Set("ETag", c.ETag)
	setHTTPTime(h, "Last-Modified", c.Modified)
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

// lookupContainer returns the addressed container; the caller holds s.mu.
func (req *request) lookupContainer() (*containerRec, error) {
	c, ok := req.acct.Containers[req.t.container]
	if !ok {
		return nil, errContainerNotFound()
	}
	return c, nil
}

func setContainerHeaders(h http.Header, c *containerRec) {
	h.Set("ETag", c.ETag)
	setHTTPTime(h, "Last-Modified", c.Modified)
	if c.PublicAccess != "" {
		h.Set("x-ms-blob-public-access", c.PublicAccess)
	}
}

// containerProperties answers Get Container Properties and Get Container Metadata.
func (s *Service) containerProperties(req *request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	h := req.w.Header()
	setContainerHeaders(h, c)
	setMetadataHeaders(h, c.Metadata)
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	h.Set("x-ms-default-encryption-scope", "$account-encryption-key")
	h.Set("x-ms-deny-encryption-scope-override", "false")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// setContainerMetadata answers Set Container Metadata.
func (s *Service) setContainerMetadata(req *request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	c.Metadata = metadataFromHeaders(req.r.Header)
	c.Modified, c.ETag = req.now, s.newETag()
	if err := s.saveLocked(); err != nil {
		return err
	}
	setContainerHeaders(req.w.Header(), c)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// signedIdentifiers is the (always empty) stored access policy list of a container ACL.
type signedIdentifiers struct {
	XMLName xml.Name `xml:"SignedIdentifiers"`
}

// containerACL answers Get Container ACL: the public access level, no stored policies.
func (s *Service) containerACL(req *request) error {
	s.mu.RLock()
	c, err := req.lookupContainer()
	if err == nil {
		setContainerHeaders(req.w.Header(), c)
	}
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	return writeXML(req.w, http.StatusOK, signedIdentifiers{})
}

// setContainerACL answers Set Container ACL. Stored access policies are not supported.
func (s *Service) setContainerACL(req *request) error {
	pa, err := parsePublicAccess(req.r.Header.Get("x-ms-blob-public-access"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(req.r.Body, 1<<20))
	if err != nil {
		return err
	}
	if strings.Contains(string(body), "<SignedIdentifier>") {
		return errUnsupported("stored access policies")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	c.PublicAccess = pa
	c.Modified, c.ETag = req.now, s.newETag()
	if err := s.saveLocked(); err != nil {
		return err
	}
	setContainerHeaders(req.w.Header(), c)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteContainer answers Delete Container: 202, its blobs removed at once.
func (s *Service) deleteContainer(req *request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	s.dropContainerData(c)
	delete(req.acct.Containers, c.Name)
	if err := s.saveLocked(); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusAccepted)
	return nil
}

// listing holds the paging parameters common to both lists.
type listing struct {
	prefix, marker, delimiter string
	max                       int
	include                   string
}

func parseListing(req *request) (listing, error) {
	q := req.r.URL.Query()
	l := listing{prefix: q.Get("prefix"), marker: q.Get("marker"), delimiter: q.Get("delimiter"), max: 5000,
		include: q.Get("include")}
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return l, errInvalidQuery("maxresults")
		}
		l.max = min(n, 5000)
	}
	return l, nil
}

type xmlMetadata struct {
	Items []xmlMetaItem
}

type xmlMetaItem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func toXMLMetadata(md map[string]string) *xmlMetadata {
	if md == nil {
		return &xmlMetadata{}
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := &xmlMetadata{}
	for _, k := range keys {
		out.Items = append(out.Items, xmlMetaItem{XMLName: xml.Name{Local: k}, Value: md[k]})
	}
	return out
}

type containerList struct {
	XMLName         xml.Name        `xml:"EnumerationResults"`
	ServiceEndpoint string          `xml:"ServiceEndpoint,attr"`
	Prefix          string          `xml:"Prefix,omitempty"`
	Marker          string          `xml:"Marker,omitempty"`
	MaxResults      int             `xml:"MaxResults,omitempty"`
	Containers      []containerItem `xml:"Containers>Container"`
	NextMarker      string          `xml:"NextMarker"`
}

type containerItem struct {
	Name       string              `xml:"Name"`
	Properties containerProperties `xml:"Properties"`
	Metadata   *xmlMetadata        `xml:"Metadata,omitempty"`
}

type containerProperties struct {
	LastModified          string `xml:"Last-Modified"`
	ETag                  string `xml:"Etag"`
	LeaseStatus           string `xml:"LeaseStatus"`
	LeaseState            string `xml:"LeaseState"`
	PublicAccess          string `xml:"PublicAccess,omitempty"`
	HasImmutabilityPolicy bool   `xml:"HasImmutabilityPolicy"`
	HasLegalHold          bool   `xml:"HasLegalHold"`
}

// serviceEndpoint is the account's base URL as the client addressed it.
func serviceEndpoint(req *request) string {
	scheme := "http"
	if req.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.r.Host + "/" + req.acct.Name + "/"
}

// listContainers answers List Containers, sorted by name, paged by marker (the next name).
func (s *Service) listContainers(req *request) error {
	l, err := parseListing(req)
	if err != nil {
		return err
	}
	out := containerList{ServiceEndpoint: serviceEndpoint(req), Prefix: l.prefix, Marker: l.marker}
	if req.r.URL.Query().Has("maxresults") {
		out.MaxResults = l.max
	}
	s.mu.RLock()
	names := make([]string, 0, len(req.acct.Containers))
	for n := range req.acct.Containers {
		if strings.HasPrefix(n, l.prefix) && n >= l.marker {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for i, n := range names {
		if i == l.max {
			out.NextMarker = n
			break
		}
		c := req.acct.Containers[n]
		item := containerItem{Name: n, Properties: containerProperties{
			LastModified: c.Modified.UTC().Format(http.TimeFormat), ETag: c.ETag,
			LeaseStatus: "unlocked", LeaseState: "available", PublicAccess: c.PublicAccess,
		}}
		if strings.Contains(l.include, "metadata") {
			item.Metadata = toXMLMetadata(c.Metadata)
		}
		out.Containers = append(out.Containers, item)
	}
	s.mu.RUnlock()
	return writeXML(req.w, http.StatusOK, out)
}

type blobList struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	ContainerName   string   `xml:"ContainerName,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Delimiter       string   `xml:"Delimiter,omitempty"`
	Blobs           blobsXML `xml:"Blobs"`
	NextMarker      string   `xml:"NextMarker"`
}

type blobsXML struct {
	Blobs    []blobItem   `xml:"Blob"`
	Prefixes []blobPrefix `xml:"BlobPrefix"`
}

type blobPrefix struct {
	Name string `xml:"Name"`
}

type blobItem struct {
	Name       string         `xml:"Name"`
	Properties blobProperties `xml:"Properties"`
	Metadata   *xmlMetadata   `xml:"Metadata,omitempty"`
}

type blobProperties struct {
	CreationTime       string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding"`
	ContentLanguage    string `xml:"Content-Language"`
	ContentMD5         string `xml:"Content-MD5"`
	ContentDisposition string `xml:"Content-Disposition"`
	CacheControl       string `xml:"Cache-Control"`
	SequenceNumber     *int64 `xml:"x-ms-blob-sequence-number,omitempty"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier,omitempty"`
	AccessTierInferred *bool  `xml:"AccessTierInferred,omitempty"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
	CopyID             string `xml:"CopyId,omitempty"`
	CopyStatus         string `xml:"CopyStatus,omitempty"`
	CopySource         string `xml:"CopySource,omitempty"`
	CopyProgress       string `xml:"CopyProgress,omitempty"`
	CopyCompletionTime string `xml:"CopyCompletionTime,omitempty"`
	CopyStatusDesc     string `xml:"CopyStatusDescription,omitempty"`
}

// listBlobs answers List Blobs (flat, or by a delimiter), committed blobs sorted by name.
func (s *Service) listBlobs(req *request) error {
	l, err := parseListing(req)
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := req.lookupContainer()
	if err != nil {
		return err
	}
	out := blobList{ServiceEndpoint: serviceEndpoint(req), ContainerName: c.Name, Prefix: l.prefix,
		Marker: l.marker, Delimiter: l.delimiter}
	if req.r.URL.Query().Has("maxresults") {
		out.MaxResults = l.max
	}
	names := make([]string, 0, len(c.Blobs))
	for n, b := range c.Blobs {
		if b.Committed && strings.HasPrefix(n, l.prefix) && n >= l.marker {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	count := 0
	lastPrefix := ""
	for _, n := range names {
		if l.delimiter != "" {
			if i := strings.Index(n[len(l.prefix):], l.delimiter); i >= 0 {
				p := n[:len(l.prefix)+i+len(l.delimiter)]
				if p == lastPrefix {
					continue
				}
				if count == l.max {
					out.NextMarker = n
					break
				}
				lastPrefix = p
				out.Blobs.Prefixes = append(out.Blobs.Prefixes, blobPrefix{Name: p})
				count++
				continue
			}
		}
		if count == l.max {
			out.NextMarker = n
			break
		}
		b := c.Blobs[n]
		item := blobItem{Name: n, Properties: b.listProperties(req.now)}
		if strings.Contains(l.include, "metadata") {
			item.Metadata = toXMLMetadata(b.Metadata)
		}
		out.Blobs.Blobs = append(out.Blobs.Blobs, item)
		count++
	}
	return writeXML(req.w, http.StatusOK, out)
}
