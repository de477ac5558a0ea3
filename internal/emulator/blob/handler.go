package blob

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// request is one request being served.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	id   string
	now  time.Time
	acct *account
	t    target
}

// operation is a routed request: what it needs to be authorized and what serves it.
type operation struct {
	name   string
	access access
	serve  func(*Service, *request) error
}

// ServeHTTP serves the path-style Blob REST API: /{account}[/{container}[/{blob}]].
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{w: w, r: r, ctx: r.Context(), id: uuid.NewString(), now: s.now()}
	h := w.Header()
	h.Set("x-ms-request-id", req.id)
	version := r.Header.Get("x-ms-version")
	if version == "" {
		version = DefaultVersion
	}
	h.Set("x-ms-version", version)
	h.Set("Date", req.now.UTC().Format(http.TimeFormat))
	h.Set("Server", "Windows-Azure-Blob/1.0 strata-emulator")
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		h.Set("x-ms-client-request-id", id)
	}

	err := s.serve(req)
	var se *storageError
	switch {
	case err == nil:
		s.log.Debug("blob request", "method", r.Method, "uri", r.URL.RequestURI(), "request_id", req.id)
		return
	case errors.As(err, &se):
	default:
		s.log.Error("blob request failed", "method", r.Method, "uri", r.URL.RequestURI(), "request_id", req.id, "err", err)
		se = newError(http.StatusInternalServerError, "InternalError",
			"Server encountered an internal error. Please try again after some time.")
	}
	s.log.Debug("blob request refused", "method", r.Method, "uri", r.URL.RequestURI(), "request_id", req.id,
		"status", se.Status, "code", se.Code, "detail", se.Detail)
	writeError(w, r, se, req.id, req.now)
}

// serve routes, authorizes and runs one request.
func (s *Service) serve(req *request) error {
	p := strings.TrimPrefix(req.r.URL.Path, "/")
	parts := strings.SplitN(p, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	req.t = target{account: parts[0], container: parts[1], blob: parts[2]}
	if req.t.account == "" {
		return newError(http.StatusBadRequest, "InvalidUri", "The requested URI does not represent any resource on the server.")
	}
	op, err := route(req)
	if err != nil {
		return err
	}
	s.mu.RLock()
	acct, ok := s.accounts[req.t.account]
	var authErr *storageError
	if ok {
		authErr = s.authorize(req.r, acct, req.t, op.access)
	}
	s.mu.RUnlock()
	if !ok {
		return newError(http.StatusNotFound, "ResourceNotFound", "The specified account %q does not exist.", req.t.account)
	}
	// The account's firewall comes before its credentials, as on Azure. It is asked outside
	// the service's lock: it reads the resource manager, which calls this service under its own.
	if s.networkAllowed != nil && !acct.builtin && !s.networkAllowed(acct.Name, req.r) {
		return errAuthorizationFailure()
	}
	if authErr != nil {
		return authErr
	}
	req.acct = acct
	return op.serve(s, req)
}

// route finds the operation of a request from its method, path depth and query.
func route(req *request) (operation, error) {
	r, t := req.r, req.t
	q := r.URL.Query()
	comp, restype := q.Get("comp"), q.Get("restype")
	m := r.Method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	unsupported := func() (operation, error) {
		return operation{}, errUnsupported(fmt.Sprintf("%s with comp=%q restype=%q", r.Method, comp, restype))
	}
	read := func(lvl level, public string) access {
		return access{level: lvl, perms: "r", public: public, read: true}
	}
	switch {
	case t.container == "":
		switch {
		case m == http.MethodGet && comp == "list":
			return operation{"ListContainers", access{level: levelService, perms: "l"}, (*Service).listContainers}, nil
		case m == http.MethodGet && restype == "account" && comp == "properties":
			return operation{"GetAccountInfo", access{level: levelService, perms: "rwdlacup"}, (*Service).accountInfo}, nil
		}
		return unsupported()
	case t.blob == "":
		if restype != "container" {
			return operation{}, newError(http.StatusBadRequest, "InvalidQueryParameterValue",
				"Value for one of the query parameters specified in the request URI is invalid. (restype)")
		}
		switch {
		case m == http.MethodPut && comp == "":
			return operation{"CreateContainer", access{level: levelContainer, perms: "cw"}, (*Service).createContainer}, nil
		case m == http.MethodPut && comp == "metadata":
			return operation{"SetContainerMetadata", access{level: levelContainer, perms: "w"}, (*Service).setContainerMetadata}, nil
		case m == http.MethodPut && comp == "acl":
			return operation{"SetContainerACL", access{level: levelContainer, perms: "w"}, (*Service).setContainerACL}, nil
		case m == http.MethodGet && (comp == "" || comp == "metadata"):
			return operation{"GetContainerProperties", read(levelContainer, publicContainer), (*Service).containerProperties}, nil
		case m == http.MethodGet && comp == "acl":
			return operation{"GetContainerACL", read(levelContainer, publicNone), (*Service).containerACL}, nil
		case m == http.MethodGet && comp == "list":
			return operation{"ListBlobs", access{level: levelContainer, perms: "l", public: publicContainer, read: true}, (*Service).listBlobs}, nil
		case m == http.MethodDelete && comp == "":
			return operation{"DeleteContainer", access{level: levelContainer, perms: "d"}, (*Service).deleteContainer}, nil
		}
		return unsupported()
	}
	write := access{level: levelObject, perms: "w"}
	create := access{level: levelObject, perms: "cw"}
	switch {
	case m == http.MethodPut && comp == "":
		if r.Header.Get("x-ms-copy-source") != "" {
			if r.Header.Get("x-ms-blob-type") != "" {
				return operation{"PutBlobFromURL", create, (*Service).copyBlob}, nil
			}
			return operation{"CopyBlob", create, (*Service).copyBlob}, nil
		}
		return operation{"PutBlob", create, (*Service).putBlob}, nil
	case m == http.MethodPut && comp == "page":
		return operation{"PutPage", write, (*Service).putPage}, nil
	case m == http.MethodPut && comp == "block":
		if r.Header.Get("x-ms-copy-source") != "" {
			return unsupported()
		}
		return operation{"PutBlock", write, (*Service).putBlock}, nil
	case m == http.MethodPut && comp == "blocklist":
		return operation{"PutBlockList", write, (*Service).putBlockList}, nil
	case m == http.MethodPut && comp == "metadata":
		return operation{"SetBlobMetadata", write, (*Service).setBlobMetadata}, nil
	case m == http.MethodPut && comp == "properties":
		return operation{"SetBlobProperties", write, (*Service).setBlobProperties}, nil
	case m == http.MethodPut && comp == "copy":
		return operation{"AbortCopyBlob", write, (*Service).abortCopy}, nil
	case m == http.MethodGet && comp == "":
		return operation{"GetBlob", read(levelObject, publicBlob), (*Service).getBlob}, nil
	case m == http.MethodGet && comp == "metadata":
		return operation{"GetBlobMetadata", read(levelObject, publicBlob), (*Service).getBlobMetadata}, nil
	case m == http.MethodGet && comp == "pagelist":
		return operation{"GetPageRanges", read(levelObject, publicBlob), (*Service).pageRanges}, nil
	case m == http.MethodGet && comp == "blocklist":
		return operation{"GetBlockList", read(levelObject, publicBlob), (*Service).blockList}, nil
	case m == http.MethodDelete && comp == "":
		return operation{"DeleteBlob", access{level: levelObject, perms: "d"}, (*Service).deleteBlob}, nil
	}
	return unsupported()
}

// writeXML answers status with v as an XML document.
func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	out := append([]byte(xmlDeclaration), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", fmt.Sprint(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
	return nil
}

// accountInfo answers Get Account Information.
func (s *Service) accountInfo(req *request) error {
	h := req.w.Header()
	h.Set("x-ms-sku-name", "Standard_LRS")
	h.Set("x-ms-account-kind", "StorageV2")
	h.Set("x-ms-is-hns-enabled", "false")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// setHTTPTime sets a header to t in the HTTP date format.
func setHTTPTime(h http.Header, name string, t time.Time) {
	h.Set(name, t.UTC().Format(http.TimeFormat))
}

// metadataFromHeaders collects the x-ms-meta-* headers of r; names are lower-cased.
func metadataFromHeaders(h http.Header) map[string]string {
	var md map[string]string
	for k, v := range h {
		name := strings.ToLower(k)
		if strings.HasPrefix(name, "x-ms-meta-") && len(v) > 0 {
			if md == nil {
				md = map[string]string{}
			}
			md[strings.TrimPrefix(name, "x-ms-meta-")] = v[0]
		}
	}
	return md
}

func setMetadataHeaders(h http.Header, md map[string]string) {
	for k, v := range md {
		h.Set("x-ms-meta-"+k, v)
	}
}
