package blob

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/tokens"
)

// level is the kind of resource an operation acts on, as account SAS resource types name it.
type level int

const (
	levelService   level = iota // srt=s
	levelContainer              // srt=c
	levelObject                 // srt=o
)

// Container public access levels (x-ms-blob-public-access).
const (
	publicNone      = ""
	publicBlob      = "blob"
	publicContainer = "container"
)

// access is what an operation needs to be authorized.
type access struct {
	level level
	// perms lists SAS permission letters any one of which allows the operation.
	perms string
	// public is the weakest container public access that allows it anonymously; publicNone
	// means never.
	public string
	// read marks a read: anonymous reads of private data answer 404, as the service does.
	read bool
}

// target names the resource a request addresses.
type target struct {
	account, container, blob string
}

// authorize checks the credentials of r (Shared Key, bearer token, SAS, or none) for a.
func (s *Service) authorize(r *http.Request, acct *account, t target, a access) *storageError {
	authz := r.Header.Get("Authorization")
	switch {
	case authz != "":
		scheme, rest, _ := strings.Cut(authz, " ")
		switch scheme {
		case "SharedKey":
			return s.checkSharedKey(r, acct, strings.TrimSpace(rest))
		case "Bearer":
			return s.checkBearer(r, acct, strings.TrimSpace(rest))
		default:
			return errAuthFailed(fmt.Sprintf("The authorization scheme %q is not supported.", scheme))
		}
	case r.URL.Query().Get("sig") != "":
		https := r.TLS != nil
		return s.checkSAS(r.URL.Query(), acct, t, a, https, remoteIP(r))
	default:
		return s.checkPublic(acct, t, a)
	}
}

// checkPublic allows an anonymous request when the container's public access covers it.
func (s *Service) checkPublic(acct *account, t target, a access) *storageError {
	if a.public != publicNone && t.container != "" {
		if c, ok := acct.Containers[t.container]; ok {
			if c.PublicAccess == publicContainer || (c.PublicAccess == publicBlob && a.public == publicBlob) {
				return nil
			}
		}
	}
	if a.read {
		return errResourceNotFound()
	}
	return newError(http.StatusUnauthorized, "NoAuthenticationInformation",
		"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
}

// checkSharedKey verifies "SharedKey account:signature". It accepts the string to sign of a
// path-style URL (the account in the path, as the SDK signs it against this endpoint) and of
// a virtual-host URL, with the headers sorted as the SDKs do or byte-wise.
func (s *Service) checkSharedKey(r *http.Request, acct *account, cred string) *storageError {
	name, sig, ok := strings.Cut(cred, ":")
	if !ok || name == "" || sig == "" {
		return errAuthFailed("The Authorization header is not of the form 'SharedKey account:signature'.")
	}
	if name != acct.Name {
		return errAuthFailed(fmt.Sprintf("The account %q of the Authorization header is not the account %q of the request.", name, acct.Name))
	}
	rawPath, rawQuery := requestURIParts(r)
	paths := []string{rawPath}
	if p := strings.TrimPrefix(rawPath, "/"+acct.Name); p != rawPath {
		if p == "" {
			p = "/"
		}
		paths = append(paths, p)
	}
	var first string
	for _, p := range paths {
		for _, order := range []headerOrder{orderCulture, orderOrdinal} {
			sts, err := sharedKeyStringToSign(stringToSignInput{
				Method: r.Method, Header: r.Header, ContentLength: contentLength(r),
				Account: acct.Name, EscapedPath: p, RawQuery: rawQuery,
			}, order)
			if err != nil {
				return errAuthFailed(err.Error())
			}
			if first == "" {
				first = sts
			}
			if acct.signed(sts, sig) {
				return nil
			}
		}
	}
	return errAuthFailed(fmt.Sprintf("The MAC signature found in the HTTP request '%s' is not the same as any computed signature. Server used following string to sign: '%s'.", sig, first))
}

// requestURIParts returns the path and query of r exactly as the client sent them.
func requestURIParts(r *http.Request) (string, string) {
	uri := r.RequestURI
	if uri == "" || !strings.HasPrefix(uri, "/") {
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	p, q, _ := strings.Cut(uri, "?")
	return p, q
}

// contentLength is the body length the client declared, or -1 for the header's value.
func contentLength(r *http.Request) int64 {
	if r.ContentLength > 0 {
		return r.ContentLength
	}
	if r.Header.Get("Content-Length") != "" {
		return -1
	}
	return 0
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// storageAudiences are the audiences Storage accepts besides the account's own blob host.
var storageAudiences = []string{"https://storage.azure.com", "e406a681-f3d4-42a8-90b6-c2b029497af1"}

// tokenLeeway is the clock skew Storage allows around a token's nbf and exp.
const tokenLeeway = 5 * time.Minute

// checkBearer verifies an Entra ID access token as Storage does: signed by the emulator's
// Entra ID (Options.Tokens), within nbf..exp give or take 5 minutes, for the storage audience
// or the account's blob host, from its tenant's issuer. A bearer token grants full access.
func (s *Service) checkBearer(r *http.Request, acct *account, token string) *storageError {
	if s.tokens == nil {
		return errInvalidToken(r, nil, "Bearer tokens are not accepted: the blob service has no token issuer.")
	}
	c, verr := s.tokens.Verify(token, s.now(), tokenLeeway)
	if detail := bearerRefusal(c, verr, acct.Name); detail != "" {
		s.log.Debug("bearer token refused", "account", acct.Name, "reason", verr, "detail", detail)
		return errInvalidToken(r, c, detail)
	}
	return nil
}

// bearerRefusal decides whether Storage refuses a token for an account: verr and c are what
// tokens.Verify returned for it. It answers "" for an accepted token, else the
// AuthenticationErrorDetail Storage gives.
func bearerRefusal(c *tokens.Claims, verr error, account string) string {
	switch {
	case errors.Is(verr, tokens.ErrExpired):
		return "Lifetime validation failed. The token is expired."
	case errors.Is(verr, tokens.ErrNotYetValid):
		return "Lifetime validation failed. The token is not yet valid."
	case errors.Is(verr, tokens.ErrSignature):
		return "Signature validation failed. The token is not signed by a key of the issuer (" + verr.Error() + ")."
	case verr != nil:
		return "Signature validation failed. The token is not a signed JWT (" + verr.Error() + ")."
	case !storageAudience(c.Audience, account):
		return "Audience validation failed. Audience did not match."
	case !c.IssuedByItsTenant():
		return "Issuer validation failed. Issuer did not match."
	}
	return ""
}

// storageAudience reports whether aud is an audience of the account's blob service.
func storageAudience(aud, account string) bool {
	aud = strings.TrimSuffix(aud, "/")
	for _, want := range append(storageAudiences, "https://"+account+".blob.core.windows.net") {
		if strings.EqualFold(aud, want) {
			return true
		}
	}
	return false
}

// errInvalidToken is Storage's 401 for a bearer token it refuses, with the challenge that
// names the authority and the storage resource. The tenant is the token's when it can be
// read.
func errInvalidToken(r *http.Request, c *tokens.Claims, detail string) *storageError {
	e := newError(http.StatusUnauthorized, "InvalidAuthenticationInfo",
		"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
	e.Detail = detail
	tenant := "common"
	if c != nil && c.TenantID != "" {
		tenant = c.TenantID
	}
	e.Challenge = "Bearer authorization_uri=https://" + r.Host + "/" + tenant + "/oauth2/authorize resource_id=https://storage.azure.com"
	return e
}

// sasTimeFormats are the ISO 8601 forms a SAS start or expiry may take.
var sasTimeFormats = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02T15:04Z", "2006-01-02"}

func parseSASTime(v string) (time.Time, error) {
	for _, f := range sasTimeFormats {
		if t, err := time.Parse(f, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time", v)
}

// checkSAS verifies an account SAS (ss/srt) or a service SAS (sr) in q for a on t: its
// signature, its time window, the protocol and source address it allows, and what it grants.
func (s *Service) checkSAS(q url.Values, acct *account, t target, a access, https bool, ip string) *storageError {
	sts, serr := sasStringToSign(q, acct.Name, t)
	if serr != nil {
		return serr
	}
	if !acct.signed(sts, q.Get("sig")) {
		return errAuthFailed(fmt.Sprintf("Signature did not match. String to sign used was %s", strconv.Quote(sts)))
	}
	if serr := checkSASWindow(q, s.now()); serr != nil {
		return serr
	}
	if serr := checkSASSource(q, https, ip); serr != nil {
		return serr
	}
	return checkSASGrant(q, a)
}

// isAccountSAS reports whether q is an account SAS rather than a service SAS.
func isAccountSAS(q url.Values) bool { return q.Has("ss") || q.Has("srt") }

// sasStringToSign is the string an account or service SAS signs, for the versions Storage
// accepts.
func sasStringToSign(q url.Values, accountName string, t target) (string, *storageError) {
	sv := q.Get("sv")
	if _, err := time.Parse("2006-01-02", sv); err != nil {
		return "", errAuthFailed(fmt.Sprintf("The signed version %q is not a valid version.", sv))
	}
	if isAccountSAS(q) {
		if sv < "2015-04-05" {
			return "", errAuthFailed(fmt.Sprintf("Account SAS version %s is not supported.", sv))
		}
		fields := []string{accountName, q.Get("sp"), q.Get("ss"), q.Get("srt"), q.Get("st"), q.Get("se"),
			q.Get("sip"), q.Get("spr"), sv}
		if sv >= "2020-12-06" {
			fields = append(fields, q.Get("ses"))
		}
		return strings.Join(fields, "\n") + "\n", nil
	}
	if sv < "2018-11-09" {
		return "", errAuthFailed(fmt.Sprintf("Service SAS version %s is not supported.", sv))
	}
	sr := q.Get("sr")
	name := "/blob/" + accountName + "/" + t.container
	switch sr {
	case "c":
	case "b":
		name += "/" + t.blob
	default:
		return "", errAuthFailed(fmt.Sprintf("The signed resource %q is not supported.", sr))
	}
	if q.Get("si") != "" {
		return "", errAuthFailed("Stored access policies (si) are not supported by the emulator.")
	}
	fields := []string{q.Get("sp"), q.Get("st"), q.Get("se"), name, q.Get("si"), q.Get("sip"),
		q.Get("spr"), sv, sr, q.Get("sst")}
	if sv >= "2020-12-06" {
		fields = append(fields, q.Get("ses"))
	}
	fields = append(fields, q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"))
	return strings.Join(fields, "\n"), nil
}

// signed reports whether sig is the HMAC-SHA256 of sts under one of the account's keys.
func (a *account) signed(sts, sig string) bool {
	for _, k := range a.keys {
		if len(k) > 0 && signatureEqual(hmacSHA256(k, sts), sig) {
			return true
		}
	}
	return false
}

// checkSASWindow checks that now is within the SAS's start (st, optional) and expiry (se).
func checkSASWindow(q url.Values, now time.Time) *storageError {
	se, err := parseSASTime(q.Get("se"))
	if err != nil {
		return errAuthFailed("Signed expiry time is missing or invalid: " + err.Error())
	}
	st := time.Time{}
	if v := q.Get("st"); v != "" {
		if st, err = parseSASTime(v); err != nil {
			return errAuthFailed("Signed start time is invalid: " + err.Error())
		}
	}
	if now.After(se) || now.Before(st) {
		return errAuthFailed(fmt.Sprintf("Signature not valid in the specified time frame: Start [%s] - Expiry [%s] - Current [%s]",
			fmtHTTPTime(st), fmtHTTPTime(se), fmtHTTPTime(now)))
	}
	return nil
}

// checkSASSource checks the protocol (spr) and source addresses (sip) the SAS allows.
func checkSASSource(q url.Values, https bool, ip string) *storageError {
	if q.Get("spr") == "https" && !https {
		return newError(http.StatusForbidden, "AuthorizationProtocolMismatch",
			"This request is not authorized to perform this operation using this protocol.")
	}
	if sip := q.Get("sip"); sip != "" && !ipInRange(ip, sip) {
		return newError(http.StatusForbidden, "AuthorizationSourceIPMismatch",
			"This request is not authorized to perform this operation using this source IP %s.", ip)
	}
	return nil
}

// checkSASGrant checks that the SAS grants a: the blob service and a's resource type (account
// SAS) or a's resource (service SAS), and one of a's permissions.
func checkSASGrant(q url.Values, a access) *storageError {
	if isAccountSAS(q) {
		if !strings.Contains(q.Get("ss"), "b") {
			return newError(http.StatusForbidden, "AuthorizationServiceMismatch",
				"This request is not authorized to perform this operation using this service.")
		}
		if !strings.Contains(q.Get("srt"), string("sco"[a.level])) {
			return newError(http.StatusForbidden, "AuthorizationResourceTypeMismatch",
				"This request is not authorized to perform this operation using this resource type.")
		}
	} else {
		switch {
		case a.level == levelService:
			return newError(http.StatusForbidden, "AuthorizationFailure", "This request is not authorized to perform this operation.")
		case q.Get("sr") == "b" && a.level != levelObject:
			return newError(http.StatusForbidden, "AuthorizationResourceTypeMismatch",
				"This request is not authorized to perform this operation using this resource type.")
		}
	}
	if !strings.ContainsAny(q.Get("sp"), a.perms) {
		return errPermissionMismatch()
	}
	return nil
}

// ipInRange reports whether ip is sip, or within "from-to".
func ipInRange(ip, sip string) bool {
	addr := net.ParseIP(ip)
	from, to, isRange := strings.Cut(sip, "-")
	if !isRange {
		return addr != nil && addr.Equal(net.ParseIP(sip))
	}
	lo, hi := net.ParseIP(from).To16(), net.ParseIP(to).To16()
	a := addr.To16()
	if a == nil || lo == nil || hi == nil {
		return false
	}
	return string(a) >= string(lo) && string(a) <= string(hi)
}

func fmtHTTPTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(http.TimeFormat)
}
