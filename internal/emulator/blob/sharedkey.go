package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// stringToSignInput is what the Blob service's Shared Key string-to-sign is built from
// (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key, versions 2015-02-21
// and later): the verb, the standard headers, the x-ms-* headers and the resource.
type stringToSignInput struct {
	Method        string
	Header        http.Header
	ContentLength int64 // -1 when unknown; then the Content-Length header is used
	Account       string
	EscapedPath   string // the path exactly as it is in the request URI
	RawQuery      string
}

// headerOrder selects how the canonicalized x-ms-* headers are sorted.
type headerOrder int

const (
	// orderCulture sorts like the Azure SDKs and the service (a culture-aware comparison in
	// which '-' is ignored at the first level), e.g. x-ms-blob... before x-ms-b-...
	orderCulture headerOrder = iota
	// orderOrdinal sorts byte-wise, as the documentation's "lexicographically" reads.
	orderOrdinal
)

// sharedKeyStringToSign builds the string to sign of a Shared Key request.
func sharedKeyStringToSign(in stringToSignInput, order headerOrder) (string, error) {
	h := in.Header
	contentLength := h.Get("Content-Length")
	if in.ContentLength >= 0 {
		contentLength = fmt.Sprint(in.ContentLength)
	}
	if contentLength == "0" {
		contentLength = "" // versions 2015-02-21 and later sign an empty length for 0
	}
	date := ""
	if h.Get("x-ms-date") == "" {
		date = h.Get("Date")
	}
	resource, err := canonicalizedResource(in.Account, in.EscapedPath, in.RawQuery)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{
		strings.ToUpper(in.Method),
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		contentLength,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		date,
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
		canonicalizedHeaders(h, order),
		resource,
	}, "\n"), nil
}

// canonicalizedHeaders lists the x-ms-* headers as "name:value" lines, names lower-cased,
// several values of one header joined by ','.
func canonicalizedHeaders(h http.Header, order headerOrder) string {
	values := map[string][]string{}
	for k, v := range h {
		name := strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(name, "x-ms-") {
			values[name] = append(values[name], v...)
		}
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	if order == orderCulture {
		sort.Slice(names, func(i, j int) bool { return cultureLess(names[i], names[j]) })
	} else {
		sort.Strings(names)
	}
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = n + ":" + strings.Join(values[n], ",")
	}
	return strings.Join(lines, "\n")
}

// canonicalizedResource is "/account/escaped-path" then, sorted by name, one
// "\nname:value1,value2" line per query parameter (decoded, name lower-cased, values sorted).
func canonicalizedResource(account, escapedPath, rawQuery string) (string, error) {
	var b strings.Builder
	b.WriteString("/")
	b.WriteString(account)
	if escapedPath == "" {
		escapedPath = "/"
	}
	b.WriteString(escapedPath)
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("parse query %q: %w", rawQuery, err)
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vals := append([]string(nil), params[n]...)
		sort.Strings(vals)
		b.WriteString("\n")
		b.WriteString(strings.ToLower(n))
		b.WriteString(":")
		b.WriteString(strings.Join(vals, ","))
	}
	return b.String(), nil
}

// cultureWeight is the primary weight of an ASCII byte in the culture-aware order the Azure
// SDKs use for header names: 0 means "ignored at this level" (e.g. '-'), letters compare
// case-insensitively, digits before letters, most punctuation before digits.
func cultureWeight(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return 0x1000 + int(c-'a')
	case c >= 'A' && c <= 'Z':
		return 0x1000 + int(c-'A')
	case c >= '0' && c <= '9':
		return 0x0d00 + int(c-'0')
	}
	switch c {
	case '!', '#', '$', '%', '&', '*', '.', '^', '_', '`', '|', '~':
		return 0x0700 + int(c)
	case '+':
		return 0x0800
	}
	return 0 // '-', '\'', control characters and the rest: ignored at the first level
}

// cultureLess reports whether a sorts before b: first by the primary weights of the characters
// that have one (a prefix first); on a tie, by the second level, where only '-' and '\” count:
// at the first position where the two differ in marks, the string whose mark comes later (or
// that has none) sorts first, and '\” sorts before '-'. This is the comparer of the SDKs.
func cultureLess(a, b string) bool {
	pa, pb := primaryKey(a), primaryKey(b)
	for k := 0; k < len(pa) && k < len(pb); k++ {
		if pa[k] != pb[k] {
			return pa[k] < pb[k]
		}
	}
	if len(pa) != len(pb) {
		return len(pa) < len(pb)
	}
	const none = int(^uint(0) >> 1) // no further mark: as if at infinity
	ia, ib := secondaryIndex(a, 0), secondaryIndex(b, 0)
	for ia != none || ib != none {
		if ia != ib {
			return ia > ib
		}
		if a[ia] != b[ib] {
			return a[ia] == '\''
		}
		ia, ib = secondaryIndex(a, ia+1), secondaryIndex(b, ib+1)
	}
	return false
}

func primaryKey(s string) []int {
	k := make([]int, 0, len(s))
	for i := 0; i < len(s); i++ {
		if w := cultureWeight(s[i]); w != 0 {
			k = append(k, w)
		}
	}
	return k
}

func secondaryIndex(s string, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == '-' || s[i] == '\'' {
			return i
		}
	}
	return int(^uint(0) >> 1)
}

// hmacSHA256 signs message with a base64 account key and returns the base64 signature.
func hmacSHA256(key []byte, message string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatureEqual compares two base64 signatures in constant time.
func signatureEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
