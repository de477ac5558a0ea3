package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// testAccount is a storage account of a conformance target.
type testAccount struct {
	name, key string
}

// blobTarget is a Blob endpoint the conformance suite runs against.
type blobTarget struct {
	name string
	// endpoint is the base URL, path-style: accounts are its first path segment.
	endpoint string
	accounts [2]testAccount
	// transport is the HTTP client trusting the target's TLS certificate; nil for the default.
	transport policy.Transporter
	// emulator is set when the target is this package's Service: emulator-only checks run.
	emulator *Service
	// authFailureCodes are the codes accepted for a bad signature or an expired SAS; nil means
	// Azure's AuthenticationFailed only.
	authFailureCodes []bloberror.Code
}

// isAuthFailure reports whether err is a 403 with one of the target's authentication codes.
func (tg blobTarget) isAuthFailure(err error) bool {
	codes := tg.authFailureCodes
	if codes == nil {
		codes = []bloberror.Code{bloberror.AuthenticationFailed}
	}
	return statusOf(err) == http.StatusForbidden && bloberror.HasCode(err, codes...)
}

func newTestAccount(t *testing.T, name string) testAccount {
	t.Helper()
	k := make([]byte, 64)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return testAccount{name: name, key: base64.StdEncoding.EncodeToString(k)}
}

func (tg blobTarget) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Transport: tg.transport,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func (tg blobTarget) serviceURL(acct string) string { return tg.endpoint + "/" + acct + "/" }

func (tg blobTarget) blobURL(acct, cont, name string) string {
	return tg.endpoint + "/" + acct + "/" + cont + "/" + name
}

// client returns an azblob client authorized with the account's shared key.
func (tg blobTarget) client(t *testing.T, a testAccount) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(a.name, a.key)
	if err != nil {
		t.Fatalf("shared key credential: %v", err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(tg.serviceURL(a.name), cred,
		&azblob.ClientOptions{ClientOptions: tg.clientOptions()})
	if err != nil {
		t.Fatalf("azblob client: %v", err)
	}
	return c
}

func (tg blobTarget) container(t *testing.T, a testAccount, name string) *container.Client {
	return tg.client(t, a).ServiceClient().NewContainerClient(name)
}

// createContainer creates a container for one test.
func (tg blobTarget) createContainer(t *testing.T, ctx context.Context, a testAccount, name string) *container.Client {
	t.Helper()
	c := tg.container(t, a, name)
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("create container %s/%s: %v", a.name, name, err)
	}
	return c
}

// blobSAS signs a service SAS for one blob.
func blobSAS(t *testing.T, a testAccount, cont, name string, perms sas.BlobPermissions, start, expiry time.Time) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(a.name, a.key)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, StartTime: start, ExpiryTime: expiry,
		Permissions: perms.String(), ContainerName: cont, BlobName: name,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatalf("sign SAS: %v", err)
	}
	return qp.Encode()
}

// pattern returns n recognisable bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func download(t *testing.T, ctx context.Context, b *blob.Client, opts *blob.DownloadStreamOptions) []byte {
	t.Helper()
	resp, err := b.DownloadStream(ctx, opts)
	if err != nil {
		t.Fatalf("download %s: %v", b.URL(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", b.URL(), err)
	}
	return data
}

// statusOf returns the HTTP status of an SDK error, or 0.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// waitCopy polls GetProperties until the copy into b is no longer pending and reports whether
// it was ever seen pending.
func waitCopy(t *testing.T, ctx context.Context, b *blob.Client) (blob.GetPropertiesResponse, bool) {
	t.Helper()
	sawPending := false
	deadline := time.Now().Add(30 * time.Second)
	for {
		props, err := b.GetProperties(ctx, nil)
		if err != nil {
			t.Fatalf("copy destination properties: %v", err)
		}
		if props.CopyStatus == nil {
			t.Fatalf("copy destination has no x-ms-copy-status")
		}
		if *props.CopyStatus != blob.CopyStatusTypePending {
			return props, sawPending
		}
		sawPending = true
		if props.CopyProgress == nil || !strings.Contains(*props.CopyProgress, "/") {
			t.Errorf("pending copy progress = %v, want copied/total", props.CopyProgress)
		}
		if time.Now().After(deadline) {
			t.Fatalf("copy still pending after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runBlobConformance is the blob suite, run against the emulator and against Azurite.
func runBlobConformance(t *testing.T, tg blobTarget) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a1, a2 := tg.accounts[0], tg.accounts[1]

	t.Run("ContainerCreateTwice", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "twice")
		_, err := c.Create(ctx, nil)
		if !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			t.Fatalf("second create: %v, want ContainerAlreadyExists", err)
		}
		if statusOf(err) != http.StatusConflict {
			t.Errorf("second create status = %d, want 409", statusOf(err))
		}
		props, err := c.GetProperties(ctx, nil)
		if err != nil {
			t.Fatalf("container properties: %v", err)
		}
		if props.ETag == nil || props.LastModified == nil {
			t.Errorf("container properties lack ETag or Last-Modified: %+v", props)
		}
	})

	t.Run("PageBlob", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "pages")
		pb := c.NewPageBlobClient("disk.vhd")
		const size = 8 * 512
		if _, err := pb.Create(ctx, size, nil); err != nil {
			t.Fatalf("create page blob: %v", err)
		}
		data := pattern(1024, 3)
		if _, err := pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data)), blob.HTTPRange{Offset: 512, Count: 1024}, nil); err != nil {
			t.Fatalf("upload pages: %v", err)
		}
		props, err := pb.GetProperties(ctx, nil)
		if err != nil {
			t.Fatalf("properties: %v", err)
		}
		if props.BlobType == nil || *props.BlobType != blob.BlobTypePageBlob {
			t.Errorf("blob type = %v, want PageBlob", props.BlobType)
		}
		if props.ContentLength == nil || *props.ContentLength != size {
			t.Errorf("content length = %v, want %d", props.ContentLength, size)
		}
		if props.ETag == nil || *props.ETag == "" || props.LastModified == nil {
			t.Errorf("missing ETag or Last-Modified")
		}
		want := make([]byte, size)
		copy(want[512:], data)
		if got := download(t, ctx, pb.BlobClient(), nil); !bytes.Equal(got, want) {
			t.Fatalf("downloaded %d bytes differ from what was written", len(got))
		}
		got := download(t, ctx, pb.BlobClient(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 1000, Count: 100}})
		if !bytes.Equal(got, want[1000:1100]) {
			t.Errorf("ranged download differs")
		}
		buf := make([]byte, size)
		if n, err := pb.DownloadBuffer(ctx, buf, nil); err != nil || n != size || !bytes.Equal(buf, want) {
			t.Errorf("DownloadBuffer = %d, %v; equal %v", n, err, bytes.Equal(buf, want))
		}
		pager := pb.NewGetPageRangesPager(nil)
		var ranges []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("page ranges: %v", err)
			}
			for _, r := range page.PageRange {
				ranges = append(ranges, fmt.Sprintf("%d-%d", *r.Start, *r.End))
			}
		}
		if !slices.Equal(ranges, []string{"512-1535"}) {
			t.Errorf("page ranges = %v, want [512-1535]", ranges)
		}
		if _, err := pb.ClearPages(ctx, blob.HTTPRange{Offset: 512, Count: 512}, nil); err != nil {
			t.Fatalf("clear pages: %v", err)
		}
		clear(want[512:1024])
		if got := download(t, ctx, pb.BlobClient(), nil); !bytes.Equal(got, want) {
			t.Errorf("content after clear differs")
		}
	})

	t.Run("PageBlobAlignment", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "unaligned")
		_, err := c.NewPageBlobClient("odd").Create(ctx, 1000, nil)
		if statusOf(err) != http.StatusBadRequest {
			t.Errorf("create with 1000 bytes: %v, want 400", err)
		}
		pb := c.NewPageBlobClient("disk")
		if _, err := pb.Create(ctx, 4096, nil); err != nil {
			t.Fatalf("create: %v", err)
		}
		_, err = pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(pattern(100, 1))), blob.HTTPRange{Offset: 0, Count: 100}, nil)
		if s := statusOf(err); s != http.StatusBadRequest && s != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("100-byte page write: %v, want 400 or 416", err)
		}
		_, err = pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(pattern(512, 1))), blob.HTTPRange{Offset: 100, Count: 512}, nil)
		if s := statusOf(err); s != http.StatusBadRequest && s != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("page write at offset 100: %v, want 400 or 416", err)
		}
		if got := download(t, ctx, pb.BlobClient(), nil); !bytes.Equal(got, make([]byte, 4096)) {
			t.Errorf("a rejected write changed the blob")
		}
	})

	t.Run("BlockBlob", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "blocks")
		bb := c.NewBlockBlobClient("dir/hello.txt")
		data := pattern(3000, 9)
		if _, err := bb.UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")},
			Metadata:    map[string]*string{"purpose": to.Ptr("test")},
		}); err != nil {
			t.Fatalf("upload: %v", err)
		}
		if got := download(t, ctx, bb.BlobClient(), nil); !bytes.Equal(got, data) {
			t.Fatalf("downloaded bytes differ")
		}
		got := download(t, ctx, bb.BlobClient(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 100, Count: 200}})
		if !bytes.Equal(got, data[100:300]) {
			t.Errorf("ranged download differs")
		}
		props, err := bb.GetProperties(ctx, nil)
		if err != nil {
			t.Fatalf("properties: %v", err)
		}
		if props.BlobType == nil || *props.BlobType != blob.BlobTypeBlockBlob || props.ContentType == nil || *props.ContentType != "text/plain" {
			t.Errorf("type %v, content type %v", props.BlobType, props.ContentType)
		}
		if v := props.Metadata["purpose"]; v == nil && props.Metadata["Purpose"] == nil {
			t.Errorf("metadata = %v, want purpose", props.Metadata)
		}
		if len(props.ContentMD5) != 16 {
			t.Errorf("Content-MD5 = %x, want 16 bytes", props.ContentMD5)
		}

		odd := c.NewBlockBlobClient("odd name/with space+plus%25 ü.txt")
		if _, err := odd.UploadBuffer(ctx, []byte("odd"), nil); err != nil {
			t.Fatalf("upload with an odd name: %v", err)
		}
		if got := download(t, ctx, odd.BlobClient(), nil); string(got) != "odd" {
			t.Errorf("odd name download = %q", got)
		}

		staged := c.NewBlockBlobClient("staged.bin")
		ids := []string{base64.StdEncoding.EncodeToString([]byte("block-000")), base64.StdEncoding.EncodeToString([]byte("block-001"))}
		parts := [][]byte{pattern(700, 1), pattern(300, 2)}
		for i, id := range ids {
			if _, err := staged.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(parts[i])), nil); err != nil {
				t.Fatalf("stage block: %v", err)
			}
		}
		if _, err := staged.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Errorf("uncommitted blob properties: %v, want BlobNotFound", err)
		}
		if _, err := staged.CommitBlockList(ctx, ids, nil); err != nil {
			t.Fatalf("commit block list: %v", err)
		}
		if got := download(t, ctx, staged.BlobClient(), nil); !bytes.Equal(got, append(append([]byte(nil), parts[0]...), parts[1]...)) {
			t.Errorf("committed blob differs")
		}
		bl, err := staged.GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
		if err != nil {
			t.Fatalf("block list: %v", err)
		}
		if len(bl.CommittedBlocks) != 2 || *bl.CommittedBlocks[0].Name != ids[0] || *bl.CommittedBlocks[1].Size != 300 {
			t.Errorf("committed blocks = %+v", bl.CommittedBlocks)
		}
	})

	t.Run("CopyCrossAccountWithSAS", func(t *testing.T) {
		src := tg.createContainer(t, ctx, a2, "source")
		srcBlob := src.NewPageBlobClient("image.vhd")
		const size = 64 * 1024
		if _, err := srcBlob.Create(ctx, size, nil); err != nil {
			t.Fatalf("create source: %v", err)
		}
		data := pattern(size, 5)
		if _, err := srcBlob.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data)), blob.HTTPRange{Offset: 0, Count: size}, nil); err != nil {
			t.Fatalf("upload source: %v", err)
		}
		now := time.Now().UTC()
		srcURL := tg.blobURL(a2.name, "source", "image.vhd") + "?" +
			blobSAS(t, a2, "source", "image.vhd", sas.BlobPermissions{Read: true}, now.Add(-time.Minute), now.Add(time.Hour))

		dst := tg.createContainer(t, ctx, a1, "copies").NewBlobClient("copied.vhd")
		resp, err := dst.StartCopyFromURL(ctx, srcURL, nil)
		if err != nil {
			t.Fatalf("start copy: %v", err)
		}
		if resp.CopyID == nil || *resp.CopyID == "" || resp.CopyStatus == nil {
			t.Fatalf("start copy answer lacks x-ms-copy-id or x-ms-copy-status")
		}
		props, sawPending := waitCopy(t, ctx, dst)
		if *props.CopyStatus != blob.CopyStatusTypeSuccess {
			t.Fatalf("copy status = %s, want success", *props.CopyStatus)
		}
		if tg.emulator != nil && !sawPending {
			t.Errorf("the emulator never reported the copy pending")
		}
		if props.CopyID == nil || *props.CopyID != *resp.CopyID {
			t.Errorf("copy id = %v, want %s", props.CopyID, *resp.CopyID)
		}
		if want := fmt.Sprintf("%d/%d", size, size); props.CopyProgress == nil || *props.CopyProgress != want {
			t.Errorf("copy progress = %v, want %s", props.CopyProgress, want)
		}
		if props.BlobType == nil || *props.BlobType != blob.BlobTypePageBlob {
			t.Errorf("copied blob type = %v, want PageBlob", props.BlobType)
		}
		if got := download(t, ctx, dst, nil); !bytes.Equal(got, data) {
			t.Errorf("copied bytes differ")
		}
	})

	t.Run("CopySourceRefused", func(t *testing.T) {
		src := tg.createContainer(t, ctx, a2, "private")
		if _, err := src.NewBlockBlobClient("secret").UploadBuffer(ctx, []byte("secret"), nil); err != nil {
			t.Fatalf("upload: %v", err)
		}
		dst := tg.createContainer(t, ctx, a1, "refused")
		_, err := dst.NewBlobClient("a").StartCopyFromURL(ctx, tg.blobURL(a2.name, "private", "secret"), nil)
		if !bloberror.HasCode(err, bloberror.CannotVerifyCopySource) {
			t.Errorf("copy from a private blob of another account without SAS: %v, want CannotVerifyCopySource", err)
		}
		now := time.Now().UTC()
		missing := tg.blobURL(a2.name, "private", "missing") + "?" +
			blobSAS(t, a2, "private", "missing", sas.BlobPermissions{Read: true}, now.Add(-time.Minute), now.Add(time.Hour))
		_, err = dst.NewBlobClient("b").StartCopyFromURL(ctx, missing, nil)
		if !bloberror.HasCode(err, bloberror.CannotVerifyCopySource) || statusOf(err) != http.StatusNotFound {
			t.Errorf("copy from a missing blob: %v, want 404 CannotVerifyCopySource", err)
		}
	})

	t.Run("AccountSAS", func(t *testing.T) {
		cred, err := azblob.NewSharedKeyCredential(a1.name, a1.key)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		qp, err := sas.AccountSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour),
			Permissions:   to.Ptr(sas.AccountPermissions{Read: true, Write: true, Create: true, List: true}).String(),
			ResourceTypes: to.Ptr(sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
		}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatalf("sign account SAS: %v", err)
		}
		c, err := azblob.NewClientWithNoCredential(tg.serviceURL(a1.name)+"?"+qp.Encode(),
			&azblob.ClientOptions{ClientOptions: tg.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateContainer(ctx, "viasas", nil); err != nil {
			t.Fatalf("create container with account SAS: %v", err)
		}
		if _, err := c.UploadBuffer(ctx, "viasas", "x", []byte("hello"), nil); err != nil {
			t.Fatalf("upload with account SAS: %v", err)
		}
		pager := c.NewListContainersPager(nil)
		found := false
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("list containers with account SAS: %v", err)
			}
			for _, ci := range page.ContainerItems {
				found = found || *ci.Name == "viasas"
			}
		}
		if !found {
			t.Errorf("container viasas not listed")
		}
		if _, err := c.DeleteBlob(ctx, "viasas", "x", nil); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
			t.Errorf("delete without the d permission: %v, want AuthorizationPermissionMismatch", err)
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		bad := testAccount{name: a1.name, key: newTestAccount(t, "x").key}
		_, err := tg.container(t, bad, "wrongkey").Create(ctx, nil)
		if !tg.isAuthFailure(err) {
			t.Errorf("create with a wrong key: %v, want 403 AuthenticationFailed", err)
		}
		_, err = tg.container(t, bad, "twice").GetProperties(ctx, nil)
		if !tg.isAuthFailure(err) {
			t.Errorf("HEAD with a wrong key: %v, want AuthenticationFailed", err)
		}
	})

	t.Run("ExpiredSAS", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "expiry")
		if _, err := c.NewBlockBlobClient("b").UploadBuffer(ctx, []byte("data"), nil); err != nil {
			t.Fatalf("upload: %v", err)
		}
		now := time.Now().UTC()
		u := tg.blobURL(a1.name, "expiry", "b") + "?" +
			blobSAS(t, a1, "expiry", "b", sas.BlobPermissions{Read: true}, now.Add(-2*time.Hour), now.Add(-time.Hour))
		bc, err := blob.NewClientWithNoCredential(u, &blob.ClientOptions{ClientOptions: tg.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bc.DownloadStream(ctx, nil)
		if !tg.isAuthFailure(err) {
			t.Errorf("download with an expired SAS: %v, want 403 AuthenticationFailed", err)
		}
		valid := tg.blobURL(a1.name, "expiry", "b") + "?" +
			blobSAS(t, a1, "expiry", "b", sas.BlobPermissions{Read: true}, now.Add(-time.Minute), now.Add(time.Hour))
		bc, err = blob.NewClientWithNoCredential(valid, &blob.ClientOptions{ClientOptions: tg.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		if got := download(t, ctx, bc, nil); string(got) != "data" {
			t.Errorf("download with a valid SAS = %q", got)
		}
	})

	t.Run("ServiceSASPermissions", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "sasperms")
		if _, err := c.NewBlockBlobClient("r").UploadBuffer(ctx, []byte("readable"), nil); err != nil {
			t.Fatalf("upload: %v", err)
		}
		now := time.Now().UTC()
		readOnly := tg.blobURL(a1.name, "sasperms", "r") + "?" +
			blobSAS(t, a1, "sasperms", "r", sas.BlobPermissions{Read: true}, now.Add(-time.Minute), now.Add(time.Hour))
		bb, err := blockblob.NewClientWithNoCredential(readOnly, &blockblob.ClientOptions{ClientOptions: tg.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bb.UploadBuffer(ctx, []byte("overwrite"), nil); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) || statusOf(err) != http.StatusForbidden {
			t.Errorf("write with a read-only SAS: %v, want 403 AuthorizationPermissionMismatch", err)
		}
		// A blob SAS does not open another blob.
		other := tg.blobURL(a1.name, "sasperms", "other") + "?" + strings.SplitN(readOnly, "?", 2)[1]
		ob, err := blob.NewClientWithNoCredential(other, &blob.ClientOptions{ClientOptions: tg.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.DownloadStream(ctx, nil); !tg.isAuthFailure(err) {
			t.Errorf("a blob SAS used for another blob: %v, want AuthenticationFailed", err)
		}
		// A container SAS with list and write permissions.
		cred, err := azblob.NewSharedKeyCredential(a1.name, a1.key)
		if err != nil {
			t.Fatal(err)
		}
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: now.Add(time.Hour), ContainerName: "sasperms",
			Permissions: to.Ptr(sas.ContainerPermissions{List: true, Write: true, Create: true, Read: true}).String(),
		}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := container.NewClientWithNoCredential(tg.endpoint+"/"+a1.name+"/sasperms?"+qp.Encode(),
			&container.ClientOptions{ClientOptions: tg.clientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cc.NewBlockBlobClient("w").UploadBuffer(ctx, []byte("written"), nil); err != nil {
			t.Fatalf("upload with a container SAS: %v", err)
		}
		var names []string
		pager := cc.NewListBlobsFlatPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("list with a container SAS: %v", err)
			}
			for _, b := range page.Segment.BlobItems {
				names = append(names, *b.Name)
			}
		}
		if !slices.Equal(names, []string{"r", "w"}) {
			t.Errorf("listed %v with a container SAS", names)
		}
		if _, err := cc.NewBlobClient("r").Delete(ctx, nil); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
			t.Errorf("delete with a container SAS lacking d: %v, want AuthorizationPermissionMismatch", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "deletion")
		bb := c.NewBlockBlobClient("gone")
		if _, err := bb.UploadBuffer(ctx, []byte("bye"), nil); err != nil {
			t.Fatalf("upload: %v", err)
		}
		if _, err := bb.Delete(ctx, nil); err != nil {
			t.Fatalf("delete blob: %v", err)
		}
		_, err := bb.GetProperties(ctx, nil)
		if !bloberror.HasCode(err, bloberror.BlobNotFound) || statusOf(err) != http.StatusNotFound {
			t.Errorf("properties of a deleted blob: %v, want 404 BlobNotFound", err)
		}
		if _, err := bb.DownloadStream(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Errorf("download of a deleted blob: %v, want BlobNotFound", err)
		}
		if _, err := bb.Delete(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Errorf("second delete: %v, want BlobNotFound", err)
		}
		if _, err := c.Delete(ctx, nil); err != nil {
			t.Fatalf("delete container: %v", err)
		}
		if _, err := c.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) || statusOf(err) != http.StatusNotFound {
			t.Errorf("properties of a deleted container: %v, want 404 ContainerNotFound", err)
		}
		if _, err := c.Delete(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
			t.Errorf("second container delete: %v, want ContainerNotFound", err)
		}
	})

	t.Run("ListBlobs", func(t *testing.T) {
		c := tg.createContainer(t, ctx, a1, "listing")
		names := []string{"a/1", "a/2", "b", "c/d/e", "z"}
		for _, n := range names {
			if _, err := c.NewBlockBlobClient(n).UploadBuffer(ctx, []byte(n), nil); err != nil {
				t.Fatalf("upload %s: %v", n, err)
			}
		}
		var got []string
		pager := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: to.Ptr[int32](2)})
		pages := 0
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("list blobs: %v", err)
			}
			pages++
			for _, b := range page.Segment.BlobItems {
				got = append(got, *b.Name)
				if b.Properties == nil || b.Properties.ContentLength == nil || *b.Properties.ContentLength != int64(len(*b.Name)) {
					t.Errorf("listed %s without its size", *b.Name)
				}
			}
		}
		if !slices.Equal(got, names) || pages != 3 {
			t.Errorf("listed %v in %d pages, want %v in 3", got, pages, names)
		}
		got = nil
		pager = c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr("a/")})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("list blobs by prefix: %v", err)
			}
			for _, b := range page.Segment.BlobItems {
				got = append(got, *b.Name)
			}
		}
		if !slices.Equal(got, []string{"a/1", "a/2"}) {
			t.Errorf("listed by prefix %v", got)
		}
		var prefixes, items []string
		hp := c.NewListBlobsHierarchyPager("/", nil)
		for hp.More() {
			page, err := hp.NextPage(ctx)
			if err != nil {
				t.Fatalf("list blobs by hierarchy: %v", err)
			}
			for _, p := range page.Segment.BlobPrefixes {
				prefixes = append(prefixes, *p.Name)
			}
			for _, b := range page.Segment.BlobItems {
				items = append(items, *b.Name)
			}
		}
		if !slices.Equal(prefixes, []string{"a/", "c/"}) || !slices.Equal(items, []string{"b", "z"}) {
			t.Errorf("hierarchy: prefixes %v, blobs %v", prefixes, items)
		}
	})
}
