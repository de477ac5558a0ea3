package blob

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestSharedKeyStringToSign(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     stringToSignInput
		want   []string
		errSub string
	}{
		{
			name: "put page",
			in: stringToSignInput{
				Method: "PUT", ContentLength: 512, Account: "acct",
				EscapedPath: "/acct/vhds/disk%201.vhd", RawQuery: "comp=page",
				Header: http.Header{
					"Content-Type":           {"application/octet-stream"},
					"Range":                  {"bytes=0-511"},
					"X-Ms-Date":              {"Mon, 02 Jan 2006 15:04:05 GMT"},
					"X-Ms-Version":           {"2026-12-06"},
					"X-Ms-Page-Write":        {"update"},
					"X-Ms-Client-Request-Id": {"abc"},
					"Date":                   {"ignored because x-ms-date is set"},
				},
			},
			want: []string{"PUT", "", "", "512", "", "application/octet-stream", "", "", "", "", "", "bytes=0-511",
				"x-ms-client-request-id:abc", "x-ms-date:Mon, 02 Jan 2006 15:04:05 GMT", "x-ms-page-write:update",
				"x-ms-version:2026-12-06", "/acct/acct/vhds/disk%201.vhd\ncomp:page"},
		},
		{
			name: "zero length and Date header, sorted query",
			in: stringToSignInput{
				Method: "get", ContentLength: 0, Account: "acct", EscapedPath: "/acct/c",
				RawQuery: "restype=container&comp=list&include=metadata&include=copy&Prefix=a%2Fb",
				Header:   http.Header{"Date": {"Tue, 03 Jan 2006 00:00:00 GMT"}, "If-Match": {`"0x1"`}},
			},
			want: []string{"GET", "", "", "", "", "", "Tue, 03 Jan 2006 00:00:00 GMT", "", `"0x1"`, "", "", "",
				"", "/acct/acct/c\nprefix:a/b\ncomp:list\ninclude:copy,metadata\nrestype:container"},
		},
		{
			name: "root path and multi-valued header",
			in: stringToSignInput{
				Method: "GET", ContentLength: -1, Account: "acct", EscapedPath: "",
				Header: http.Header{"Content-Length": {"7"}, "X-Ms-Meta-A": {"1", "2"}},
			},
			want: []string{"GET", "", "", "7", "", "", "", "", "", "", "", "", "x-ms-meta-a:1,2", "/acct/"},
		},
		{
			name:   "bad query",
			in:     stringToSignInput{Method: "GET", Account: "a", EscapedPath: "/a", RawQuery: "x=%zz"},
			errSub: "parse query",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sharedKeyStringToSign(tc.in, orderCulture)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("error %v, want one containing %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("string to sign:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// The order of canonicalized headers: the SDKs' culture-aware comparer ignores '-' first.
func TestCanonicalizedHeaderOrder(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{
			in:   []string{"x-ms-version", "x-ms-date", "x-ms-blob-type", "x-ms-client-request-id", "x-ms-blob-content-length"},
			want: []string{"x-ms-blob-content-length", "x-ms-blob-type", "x-ms-client-request-id", "x-ms-date", "x-ms-version"},
		},
		{
			// Byte order puts "x-ms-blob-a" before "x-ms-blobb"; ignoring '-' gives blob-a < blobb too,
			// but "x-ms-a-c" vs "x-ms-ab": "xmsac" > "xmsab".
			in:   []string{"x-ms-a-c", "x-ms-ab"},
			want: []string{"x-ms-ab", "x-ms-a-c"},
		},
		{
			// Equal without '-': the one whose '-' comes later sorts first.
			in:   []string{"x-ms-a-bc", "x-ms-ab-c", "x-ms-abc"},
			want: []string{"x-ms-abc", "x-ms-ab-c", "x-ms-a-bc"},
		},
		{
			in:   []string{"x-ms-meta-b", "x-ms-meta-a2", "x-ms-meta-a_1", "x-ms-meta-A1"},
			want: []string{"x-ms-meta-a_1", "x-ms-meta-a1", "x-ms-meta-a2", "x-ms-meta-b"},
		},
	} {
		h := http.Header{}
		for _, n := range tc.in {
			h[n] = []string{"v"}
		}
		var got []string
		for _, line := range strings.Split(canonicalizedHeaders(h, orderCulture), "\n") {
			got = append(got, strings.TrimSuffix(line, ":v"))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("order of %v = %v, want %v", tc.in, got, tc.want)
		}
		ordinal := append([]string(nil), got...)
		sort.Strings(ordinal)
		var byBytes []string
		for _, line := range strings.Split(canonicalizedHeaders(h, orderOrdinal), "\n") {
			byBytes = append(byBytes, strings.TrimSuffix(line, ":v"))
		}
		if !slices.Equal(byBytes, ordinal) {
			t.Errorf("ordinal order of %v = %v", tc.in, byBytes)
		}
	}
}

func TestCheckSharedKey(t *testing.T) {
	svc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := newTestAccount(t, "k").key
	svc.CreateAccount("acct", [2]string{"bm90IHRoZSBrZXk=", key})
	acct := svc.accounts["acct"]
	r, err := http.NewRequest(http.MethodGet, "https://127.0.0.1/acct/c?restype=container", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.RequestURI = "/acct/c?restype=container"
	r.Header.Set("x-ms-date", "Mon, 02 Jan 2006 15:04:05 GMT")
	r.Header.Set("x-ms-version", "2026-12-06")
	sts, err := sharedKeyStringToSign(stringToSignInput{Method: "GET", Header: r.Header, Account: "acct",
		EscapedPath: "/acct/c", RawQuery: "restype=container"}, orderCulture)
	if err != nil {
		t.Fatal(err)
	}
	sig := hmacSHA256(acct.keys[1], sts) // the secondary key
	for _, tc := range []struct {
		name, cred string
		ok         bool
	}{
		{"secondary key", "acct:" + sig, true},
		{"other account", "other:" + sig, false},
		{"bad signature", "acct:" + hmacSHA256([]byte("x"), sts), false},
		{"malformed", "acct", false},
	} {
		err := svc.checkSharedKey(r, acct, tc.cred)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && err.Code != "AuthenticationFailed" {
			t.Errorf("%s: code %s", tc.name, err.Code)
		}
	}
}
