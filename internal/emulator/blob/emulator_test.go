package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/internal/emulator/tokens"
)

// testCopyDuration makes every emulator copy pending long enough to be observed.
const testCopyDuration = 800 * time.Millisecond

// startEmulator serves a new Service over TLS with two accounts.
func startEmulator(t *testing.T, opts Options) blobTarget {
	t.Helper()
	if opts.CopyDuration == nil {
		opts.CopyDuration = func(int64) time.Duration { return testCopyDuration }
	}
	if opts.Logger == nil && testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatalf("new blob service: %v", err)
	}
	srv := httptest.NewUnstartedServer(svc)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tg := blobTarget{
		name: "emulator", endpoint: srv.URL, transport: srv.Client(), emulator: svc,
		accounts: [2]testAccount{newTestAccount(t, "strataacct1"), newTestAccount(t, "strataacct2")},
	}
	for _, a := range tg.accounts {
		svc.CreateAccount(a.name, [2]string{a.key, newTestAccount(t, "k2").key})
	}
	return tg
}

// TestEmulatorConformance runs the blob suite against the Service.
func TestEmulatorConformance(t *testing.T) {
	runBlobConformance(t, startEmulator(t, Options{}))
}

// TestEmulatorBaseImage copies the public base VHD into an account and checks the result.
func TestEmulatorBaseImage(t *testing.T) {
	tg := startEmulator(t, Options{})
	ctx := context.Background()
	a := tg.accounts[0]

	anon, err := blob.NewClientWithNoCredential(tg.blobURL(SourceAccount, SourceContainer, BaseImageBlob),
		&blob.ClientOptions{ClientOptions: tg.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	props, err := anon.GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("anonymous properties of the base image: %v", err)
	}
	want := BaseImage()
	if *props.BlobType != blob.BlobTypePageBlob || *props.ContentLength != int64(len(want)) {
		t.Errorf("base image is a %s of %d bytes", *props.BlobType, *props.ContentLength)
	}
	if got := download(t, ctx, anon, nil); !bytes.Equal(got, want) {
		t.Fatalf("anonymous download of the base image differs")
	}

	dst := tg.createContainer(t, ctx, a, "images").NewBlobClient("os.vhd")
	start := time.Now()
	if _, err := dst.StartCopyFromURL(ctx, anon.URL(), nil); err != nil {
		t.Fatalf("copy the base image: %v", err)
	}
	props, sawPending := waitCopy(t, ctx, dst)
	if *props.CopyStatus != blob.CopyStatusTypeSuccess || !sawPending {
		t.Fatalf("copy status %s, seen pending %v", *props.CopyStatus, sawPending)
	}
	if el := time.Since(start); el < testCopyDuration {
		t.Errorf("copy succeeded after %v, before CopyDuration %v", el, testCopyDuration)
	}
	if props.CopyCompletionTime == nil || props.CopySource == nil || !strings.HasSuffix(*props.CopySource, BaseImageBlob) {
		t.Errorf("copy completion time %v, source %v", props.CopyCompletionTime, props.CopySource)
	}
	got := download(t, ctx, dst, nil)
	if err := ValidateFixedVHD(got); err != nil {
		t.Errorf("copied image: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("copied image differs from the base image")
	}

	// The public account is read-only for others.
	_, err = tg.container(t, a, "x").NewBlobClient("y").StartCopyFromURL(ctx, anon.URL(), nil)
	if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Errorf("copy into a missing container: %v, want ContainerNotFound", err)
	}
	upload, err := blob.NewClientWithNoCredential(tg.blobURL(SourceAccount, SourceContainer, "mine"),
		&blob.ClientOptions{ClientOptions: tg.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Delete(ctx, nil); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("anonymous delete in the public container: %v, want 401", err)
	}
}

// TestEmulatorAbortCopy aborts a pending copy.
func TestEmulatorAbortCopy(t *testing.T) {
	tg := startEmulator(t, Options{CopyDuration: func(int64) time.Duration { return time.Hour }})
	ctx := context.Background()
	src := tg.blobURL(SourceAccount, SourceContainer, BaseImageBlob)
	dst := tg.createContainer(t, ctx, tg.accounts[0], "abort").NewBlobClient("d.vhd")
	resp, err := dst.StartCopyFromURL(ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *resp.CopyStatus != blob.CopyStatusTypePending {
		t.Fatalf("copy status %s, want pending", *resp.CopyStatus)
	}
	if _, err := dst.AbortCopyFromURL(ctx, *resp.CopyID, nil); err != nil {
		t.Fatalf("abort: %v", err)
	}
	props, err := dst.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.CopyStatus != blob.CopyStatusTypeAborted || *props.ContentLength != 0 {
		t.Errorf("after abort: status %s, length %d", *props.CopyStatus, *props.ContentLength)
	}
	if _, err := dst.AbortCopyFromURL(ctx, *resp.CopyID, nil); !bloberror.HasCode(err, bloberror.NoPendingCopyOperation) {
		t.Errorf("second abort: %v, want NoPendingCopyOperation", err)
	}
}

// TestEmulatorCopyClock drives a copy with an injected clock: progress grows linearly.
func TestEmulatorCopyClock(t *testing.T) {
	var now = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tg := startEmulator(t, Options{
		Now:          func() time.Time { return now },
		CopyDuration: func(n int64) time.Duration { return time.Duration(n/1024) * time.Millisecond },
	})
	ctx := context.Background()
	// SAS and tokens are checked against the injected clock; Shared Key is not.
	dst := tg.createContainer(t, ctx, tg.accounts[0], "clock").NewBlobClient("d.vhd")
	if _, err := dst.StartCopyFromURL(ctx, tg.blobURL(SourceAccount, SourceContainer, BaseImageBlob), nil); err != nil {
		t.Fatal(err)
	}
	total := int64(len(BaseImage()))
	d := time.Duration(total/1024) * time.Millisecond
	for _, tc := range []struct {
		after  time.Duration
		status blob.CopyStatusType
		copied int64
	}{
		{0, blob.CopyStatusTypePending, 0},
		{d / 2, blob.CopyStatusTypePending, total / 2 / 512 * 512},
		{d, blob.CopyStatusTypeSuccess, total},
	} {
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(tc.after)
		now = at
		props, err := dst.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.status
		if *props.CopyStatus != want || !strings.HasPrefix(*props.CopyProgress, strconv.FormatInt(tc.copied, 10)+"/") {
			t.Errorf("at +%v: %s %s, want %s %d/%d", tc.after, *props.CopyStatus, *props.CopyProgress, want, tc.copied, total)
		}
	}
}

// staticToken is an azcore.TokenCredential returning a fixed token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// newSigner makes a token signer with a key of its own.
func newSigner(t *testing.T) *tokens.Signer {
	t.Helper()
	key, err := tokens.NewKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	s, err := tokens.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEmulatorBearer authorizes with Entra tokens signed by the Service's issuer, through the
// azblob SDK, and refuses others with Storage's 401 InvalidAuthenticationInfo.
func TestEmulatorBearer(t *testing.T) {
	issuer, other := newSigner(t), newSigner(t)
	var clock atomic.Pointer[time.Time] // nil: the real time
	tg := startEmulator(t, Options{Tokens: issuer, Now: func() time.Time {
		if c := clock.Load(); c != nil {
			return *c
		}
		return time.Now()
	}})
	ctx := context.Background()
	now := time.Now()
	good := tokens.Claims{Audience: "https://storage.azure.com", Issuer: tokens.IssuerV1("tenant1"), TenantID: "tenant1",
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), ObjectID: "someone"}
	for _, tc := range []struct {
		name   string
		signer *tokens.Signer
		change func(*tokens.Claims)
		clock  time.Time
		detail string
	}{
		{"valid", issuer, nil, time.Time{}, ""},
		{"account host audience", issuer, func(c *tokens.Claims) { c.Audience = "https://strataacct1.blob.core.windows.net/" }, time.Time{}, ""},
		{"expired within the 5 minutes of skew", issuer, nil, now.Add(time.Hour + 4*time.Minute), ""},
		{"other key", other, nil, time.Time{}, "Signature validation failed."},
		{"audience", issuer, func(c *tokens.Claims) { c.Audience = "https://management.core.windows.net/" }, time.Time{}, "Audience validation failed. Audience did not match."},
		{"issuer", issuer, func(c *tokens.Claims) { c.Issuer = "https://evil.example/" }, time.Time{}, "Issuer validation failed. Issuer did not match."},
		{"expired", issuer, nil, now.Add(time.Hour + 6*time.Minute), "Lifetime validation failed. The token is expired."},
		{"not yet valid", issuer, nil, now.Add(-7 * time.Minute), "Lifetime validation failed. The token is not yet valid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := good
			if tc.change != nil {
				tc.change(&claims)
			}
			tok, err := tc.signer.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.clock.IsZero() {
				clock.Store(&tc.clock)
				defer clock.Store(nil)
			}
			name := "bearer" + strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' {
					return r
				}
				return -1
			}, tc.name)
			c, err := container.NewClient(tg.serviceURL(tg.accounts[0].name)+name,
				staticToken(tok), &container.ClientOptions{ClientOptions: tg.clientOptions()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Create(ctx, nil)
			if tc.detail == "" {
				if err != nil {
					t.Fatalf("create with a valid token: %v", err)
				}
				return
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "InvalidAuthenticationInfo" || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("create: %v, want 401 InvalidAuthenticationInfo %q", err, tc.detail)
			}
			// The challenge names the token's tenant when its claims could be trusted.
			tenant := "tenant1"
			if tc.signer != issuer {
				tenant = "common"
			}
			if ch := re.RawResponse.Header.Get("WWW-Authenticate"); ch != "Bearer authorization_uri=https://"+re.RawResponse.Request.Host+"/"+tenant+"/oauth2/authorize resource_id=https://storage.azure.com" {
				t.Errorf("WWW-Authenticate %q", ch)
			}
		})
	}

	// Without an issuer, no bearer token is accepted.
	bare := startEmulator(t, Options{})
	tok, _ := issuer.Sign(good)
	c, _ := container.NewClient(bare.serviceURL(bare.accounts[0].name)+"noissuer", staticToken(tok), &container.ClientOptions{ClientOptions: bare.clientOptions()})
	if _, err := c.Create(ctx, nil); !bloberror.HasCode(err, "InvalidAuthenticationInfo") {
		t.Fatalf("create without an issuer: %v, want InvalidAuthenticationInfo", err)
	}
}

// TestEmulatorPersistence restarts the service on the same StateDir.
func TestEmulatorPersistence(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tg := startEmulator(t, Options{StateDir: dir})
	a := tg.accounts[0]
	c := tg.createContainer(t, ctx, a, "kept")
	data := pattern(4096, 7)
	pb := c.NewPageBlobClient("disk")
	if _, err := pb.Create(ctx, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data)), blob.HTTPRange{Offset: 8192, Count: 4096}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewBlockBlobClient("gone").UploadBuffer(ctx, []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	tg.emulator.DeleteAccount(tg.accounts[1].name)

	svc, err := New(Options{StateDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := strings.Join(svc.Accounts(), ","); got != a.name+","+SourceAccount {
		t.Errorf("accounts after restart = %s", got)
	}
	srv := httptest.NewTLSServer(svc)
	defer srv.Close()
	tg2 := tg
	tg2.endpoint, tg2.transport, tg2.emulator = srv.URL, srv.Client(), svc
	pb2 := tg2.container(t, a, "kept").NewPageBlobClient("disk")
	got := download(t, ctx, pb2.BlobClient(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 8192, Count: 4096}})
	if !bytes.Equal(got, data) {
		t.Errorf("page data lost across the restart")
	}
	if _, err := tg2.container(t, a, "kept").NewBlobClient("gone").GetProperties(ctx, nil); err != nil {
		t.Errorf("block blob lost across the restart: %v", err)
	}
	if err := svc.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := svc.Accounts(); len(got) != 1 || got[0] != SourceAccount {
		t.Errorf("accounts after reset = %v", got)
	}
	entries, err := os.ReadDir(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 { // the base images only
		t.Errorf("%d data files after reset, want 2 (the base images)", len(entries))
	}
	resp, err := srv.Client().Get(srv.URL + "/" + SourceAccount + "/" + SourceContainer + "/" + BaseImageBlob)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := ValidateFixedVHD(img); err != nil {
		t.Errorf("base image after reset: %v", err)
	}
}

// TestEmulatorARMContainers drives containers as the storage resource provider does.
func TestEmulatorARMContainers(t *testing.T) {
	tg := startEmulator(t, Options{})
	ctx := context.Background()
	svc, a := tg.emulator, tg.accounts[0]
	for _, tc := range []struct {
		name, account, container string
		want                     error
	}{
		{"create", a.name, "armcontainer", nil},
		{"again", a.name, "armcontainer", nil},
		{"bad name", a.name, "Bad--Name", ErrInvalidContainerName},
		{"no account", "nosuchacct", "armcontainer", ErrAccountNotFound},
	} {
		if err := svc.CreateContainer(tc.account, tc.container); !errors.Is(err, tc.want) {
			t.Errorf("%s: CreateContainer = %v, want %v", tc.name, err, tc.want)
		}
	}
	c := tg.container(t, a, "armcontainer")
	if _, err := c.Create(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Errorf("data-plane create of an ARM container: %v, want ContainerAlreadyExists", err)
	}
	if _, err := c.NewBlockBlobClient("b").UploadBuffer(ctx, []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteContainer(a.name, "armcontainer"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteContainer(a.name, "armcontainer"); err != nil {
		t.Errorf("deleting a missing container: %v", err)
	}
	if _, err := c.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Errorf("after DeleteContainer: %v, want ContainerNotFound", err)
	}
	svc.DeleteAccount(a.name)
	if _, err := c.GetProperties(ctx, nil); statusOf(err) != http.StatusNotFound {
		t.Errorf("after DeleteAccount: %v, want 404", err)
	}
	svc.DeleteAccount(SourceAccount)
	if !slices.Contains(svc.Accounts(), SourceAccount) {
		t.Errorf("the built-in account was deleted")
	}
}

// TestEmulatorWire checks the raw answers: standard headers and the XML error body.
func TestEmulatorWire(t *testing.T) {
	tg := startEmulator(t, Options{})
	client := tg.transport.(*http.Client)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/" + tg.accounts[0].name + "/missing?restype=container", http.StatusNotFound, "ResourceNotFound"},
		{http.MethodPut, "/" + tg.accounts[0].name + "/new?restype=container", http.StatusUnauthorized, "NoAuthenticationInformation"},
		{http.MethodGet, "/nosuchaccount/c/b", http.StatusNotFound, "ResourceNotFound"},
		{http.MethodHead, "/" + SourceAccount + "/" + SourceContainer + "/missing", http.StatusNotFound, "BlobNotFound"},
		{http.MethodGet, "/" + SourceAccount + "/" + SourceContainer + "?restype=container&comp=list", http.StatusOK, ""},
	} {
		req, err := http.NewRequest(tc.method, tg.endpoint+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-ms-version", "2021-08-06")
		req.Header.Set("x-ms-client-request-id", "client-1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != tc.status || h.Get("x-ms-error-code") != tc.code {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, h.Get("x-ms-error-code"), tc.status, tc.code)
		}
		if h.Get("x-ms-request-id") == "" || h.Get("x-ms-version") != "2021-08-06" || h.Get("Date") == "" || h.Get("x-ms-client-request-id") != "client-1" {
			t.Errorf("%s %s: standard headers missing: %v", tc.method, tc.path, h)
		}
		wantPrefix := `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + tc.code + `</Code><Message>`
		switch {
		case tc.code == "":
			if !strings.HasPrefix(string(body), `<?xml version="1.0" encoding="utf-8"?><EnumerationResults`) || !strings.Contains(string(body), "<Name>"+BaseImageBlob+"</Name>") {
				t.Errorf("anonymous listing of the public container: %s", body)
			}
		case tc.method == http.MethodHead:
			if len(body) != 0 {
				t.Errorf("HEAD error with a body")
			}
		case !strings.HasPrefix(string(body), wantPrefix) || !strings.HasSuffix(string(body), "</Message></Error>") ||
			h.Get("Content-Type") != "application/xml":
			t.Errorf("%s %s: body %s", tc.method, tc.path, body)
		}
	}
}
