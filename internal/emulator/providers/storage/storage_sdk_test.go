package storage_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

const loc = "westeurope"

var pollOpts = &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}

type clients struct {
	accts      *armstorage.AccountsClient
	containers *armstorage.BlobContainersClient
}

func newClients(t *testing.T, e *emulatortest.Env, sub string) clients {
	a, err := armstorage.NewAccountsClient(sub, e.Cred, e.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	c, err := armstorage.NewBlobContainersClient(sub, e.Cred, e.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	return clients{a, c}
}

func accountSpec() armstorage.AccountCreateParameters {
	return armstorage.AccountCreateParameters{
		Location: to.Ptr(loc),
		Kind:     to.Ptr(armstorage.KindStorageV2),
		SKU:      &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Tags:     map[string]*string{"owner": to.Ptr("strata")},
	}
}

func (c clients) create(ctx context.Context, rg, name string, p armstorage.AccountCreateParameters) (armstorage.Account, error) {
	poller, err := c.accts.BeginCreate(ctx, rg, name, p, nil)
	if err != nil {
		return armstorage.Account{}, err
	}
	r, err := poller.PollUntilDone(ctx, pollOpts)
	return r.Account, err
}

// blobClient is an azblob client of the account's blob endpoint with a shared key.
func blobClient(t *testing.T, e *emulatortest.Env, endpoint, account, key string) *azblob.Client {
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(endpoint, cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.HTTPClient}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dataPlaneContainers lists the containers the blob service has for the account.
func dataPlaneContainers(ctx context.Context, c *azblob.Client) ([]string, error) {
	var out []string
	pager := c.NewListContainersPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ci := range page.ContainerItems {
			out = append(out, *ci.Name)
		}
	}
	return out, nil
}

func TestStorageAccountLifecycle(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e, e.SubscriptionID)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-st")

	// The first answer is 202 with a Location and no body.
	var first *http.Response
	poller, err := c.accts.BeginCreate(policy.WithCaptureResponse(ctx, &first), "rg-st", "stratadata1", accountSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode != http.StatusAccepted || first.Header.Get("Location") == "" || first.Header.Get("Azure-AsyncOperation") != "" {
		t.Errorf("create answered %d, Location %q", first.StatusCode, first.Header.Get("Location"))
	}
	acct := emulatortest.Must[armstorage.AccountsClientCreateResponse](t)(poller.PollUntilDone(ctx, pollOpts)).Account
	if acct.Name == nil || *acct.Name != "stratadata1" || *acct.Properties.ProvisioningState != armstorage.ProvisioningStateSucceeded {
		t.Fatalf("the final poll did not return the account: %+v", acct)
	}
	blobEP := *acct.Properties.PrimaryEndpoints.Blob
	if blobEP != e.URL+"/stratadata1/" || *acct.Kind != armstorage.KindStorageV2 || *acct.SKU.Tier != armstorage.SKUTierStandard ||
		*acct.Properties.AccessTier != armstorage.AccessTierHot || *acct.Properties.MinimumTLSVersion != armstorage.MinimumTLSVersionTLS12 {
		t.Errorf("account %+v endpoint %s", acct.Properties, blobEP)
	}

	// Keys: two, stable, base64 of 64 bytes, accepted by the blob service.
	keys := emulatortest.Must[armstorage.AccountsClientListKeysResponse](t)(c.accts.ListKeys(ctx, "rg-st", "stratadata1", nil)).Keys
	if len(keys) != 2 || *keys[0].KeyName != "key1" || *keys[1].KeyName != "key2" || !strings.EqualFold(string(*keys[0].Permissions), "FULL") {
		t.Fatalf("keys %+v", keys)
	}
	for _, k := range keys {
		if b, err := base64.StdEncoding.DecodeString(*k.Value); err != nil || len(b) != 64 {
			t.Errorf("key %s is not base64 of 64 bytes", *k.KeyName)
		}
	}
	if *keys[0].Value == *keys[1].Value {
		t.Error("key1 == key2")
	}
	again := emulatortest.Must[armstorage.AccountsClientListKeysResponse](t)(c.accts.ListKeys(ctx, "rg-st", "stratadata1", nil)).Keys
	if *again[0].Value != *keys[0].Value {
		t.Error("listKeys is not stable")
	}
	if _, err := dataPlaneContainers(ctx, blobClient(t, e, blobEP, "stratadata1", *keys[0].Value)); err != nil {
		t.Fatalf("the blob service refuses key1: %v", err)
	}
	regen := emulatortest.Must[armstorage.AccountsClientRegenerateKeyResponse](t)(c.accts.RegenerateKey(ctx, "rg-st", "stratadata1",
		armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key2")}, nil)).Keys
	if *regen[0].Value != *keys[0].Value || *regen[1].Value == *keys[1].Value {
		t.Error("regenerateKey key2 changed the wrong key")
	}
	if _, err := dataPlaneContainers(ctx, blobClient(t, e, blobEP, "stratadata1", *regen[1].Value)); err != nil {
		t.Errorf("the blob service refuses the new key2: %v", err)
	}
	if _, err := dataPlaneContainers(ctx, blobClient(t, e, blobEP, "stratadata1", *keys[1].Value)); err == nil {
		t.Error("the blob service still accepts the old key2")
	}
	_, err = c.accts.RegenerateKey(ctx, "rg-st", "stratadata1", armstorage.AccountRegenerateKeyParameters{KeyName: to.Ptr("key3")}, nil)
	emulatortest.WantCode(t, err, "InvalidValuesForRequestParameters")

	// GET and lists.
	g := emulatortest.Must[armstorage.AccountsClientGetPropertiesResponse](t)(c.accts.GetProperties(ctx, "rg-st", "stratadata1", nil))
	if *g.Properties.PrimaryEndpoints.Blob != blobEP {
		t.Errorf("GET %+v", g.Properties)
	}
	var names []string
	for p := c.accts.NewListByResourceGroupPager("rg-st", nil); p.More(); {
		for _, a := range emulatortest.Must[armstorage.AccountsClientListByResourceGroupResponse](t)(p.NextPage(ctx)).Value {
			names = append(names, *a.Name)
		}
	}
	for p := c.accts.NewListPager(nil); p.More(); {
		for _, a := range emulatortest.Must[armstorage.AccountsClientListResponse](t)(p.NextPage(ctx)).Value {
			names = append(names, *a.Name)
		}
	}
	if fmt.Sprint(names) != "[stratadata1 stratadata1]" {
		t.Errorf("listed %v", names)
	}

	// Update: tags and a property (PATCH), a second create with the same name updates.
	u := emulatortest.Must[armstorage.AccountsClientUpdateResponse](t)(c.accts.Update(ctx, "rg-st", "stratadata1", armstorage.AccountUpdateParameters{
		Tags:       map[string]*string{"owner": to.Ptr("strata"), "env": to.Ptr("dev")},
		Properties: &armstorage.AccountPropertiesUpdateParameters{AllowBlobPublicAccess: to.Ptr(true)},
	}, nil))
	if *u.Tags["env"] != "dev" || !*u.Properties.AllowBlobPublicAccess || *u.Properties.PrimaryEndpoints.Blob != blobEP {
		t.Errorf("updated %+v", u.Account)
	}
	longTag := accountSpec()
	longTag.Tags = map[string]*string{strings.Repeat("t", 129): to.Ptr("v")}
	_, err = c.accts.Update(ctx, "rg-st", "stratadata1", armstorage.AccountUpdateParameters{Tags: longTag.Tags}, nil)
	emulatortest.WantCode(t, err, "InvalidTagNameLength")
	okTag := map[string]*string{strings.Repeat("t", 128): to.Ptr("v")}
	if _, err := c.accts.Update(ctx, "rg-st", "stratadata1", armstorage.AccountUpdateParameters{Tags: okTag}, nil); err != nil {
		t.Errorf("a 128-character tag name: %v", err)
	}
	re, err := c.create(ctx, "rg-st", "stratadata1", accountSpec())
	if err != nil || *re.Properties.AllowBlobPublicAccess != true {
		t.Errorf("re-creating an account: %v %+v", err, re.Properties)
	}
	after := emulatortest.Must[armstorage.AccountsClientListKeysResponse](t)(c.accts.ListKeys(ctx, "rg-st", "stratadata1", nil)).Keys
	if *after[0].Value != *keys[0].Value {
		t.Error("an update changed the keys")
	}

	// Delete: synchronous, then 404; deleting again is no error (204).
	var del *http.Response
	emulatortest.Must[armstorage.AccountsClientDeleteResponse](t)(c.accts.Delete(policy.WithCaptureResponse(ctx, &del), "rg-st", "stratadata1", nil))
	if del.StatusCode != http.StatusOK {
		t.Errorf("delete answered %d", del.StatusCode)
	}
	_, err = c.accts.GetProperties(ctx, "rg-st", "stratadata1", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
	emulatortest.Must[armstorage.AccountsClientDeleteResponse](t)(c.accts.Delete(policy.WithCaptureResponse(ctx, &del), "rg-st", "stratadata1", nil))
	if del.StatusCode != http.StatusNoContent {
		t.Errorf("second delete answered %d", del.StatusCode)
	}
	if _, err := dataPlaneContainers(ctx, blobClient(t, e, blobEP, "stratadata1", *keys[0].Value)); err == nil {
		t.Error("the blob service still serves the deleted account")
	}
}

func TestStorageAccountNames(t *testing.T) {
	other := "11111111-2222-3333-4444-555555555555"
	e := emulatortest.Start(t, func(o *emulator.Options) {
		o.Subscriptions = []string{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", other}
	})
	c := newClients(t, e, e.SubscriptionID)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-a")
	e.ResourceGroup(t, "rg-b")

	for _, bad := range []string{"Bad_Name", "ab", "averyveryverylongaccount1"} {
		_, err := c.accts.BeginCreate(ctx, "rg-a", bad, accountSpec(), nil)
		re := emulatortest.WantCode(t, err, "AccountNameInvalid")
		want := bad + " is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."
		if re.StatusCode != http.StatusBadRequest || !strings.Contains(re.Error(), want) {
			t.Errorf("%s: %v", bad, re)
		}
	}
	if _, err := c.create(ctx, "rg-a", "sharedname1", accountSpec()); err != nil {
		t.Fatal(err)
	}
	_, err := c.accts.BeginCreate(ctx, "rg-b", "sharedname1", accountSpec(), nil)
	if re := emulatortest.WantCode(t, err, "StorageAccountInAnotherResourceGroup"); re.StatusCode != http.StatusConflict {
		t.Errorf("status %d", re.StatusCode)
	}

	// Another subscription sees the name as taken.
	e2 := newClients(t, e, other)
	rg2 := emulatortest.Env(*e)
	rg2.SubscriptionID = other
	rg2.ResourceGroup(t, "rg-other")
	_, err = e2.accts.BeginCreate(ctx, "rg-other", "sharedname1", accountSpec(), nil)
	re := emulatortest.WantCode(t, err, "StorageAccountAlreadyTaken")
	if re.StatusCode != http.StatusConflict || !strings.Contains(re.Error(), "The storage account named sharedname1 is already taken.") {
		t.Errorf("taken: %v", re)
	}

	// checkNameAvailability, from either subscription.
	check := func(c clients, name string) armstorage.CheckNameAvailabilityResult {
		return emulatortest.Must[armstorage.AccountsClientCheckNameAvailabilityResponse](t)(c.accts.CheckNameAvailability(ctx,
			armstorage.AccountCheckNameAvailabilityParameters{Name: to.Ptr(name), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)).CheckNameAvailabilityResult
	}
	if r := check(c, "Invalid-Name"); *r.NameAvailable || *r.Reason != armstorage.ReasonAccountNameInvalid ||
		*r.Message != "Invalid-Name is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only." {
		t.Errorf("invalid: %+v", r)
	}
	for _, cl := range []clients{c, e2} {
		if r := check(cl, "sharedname1"); *r.NameAvailable || *r.Reason != armstorage.ReasonAlreadyExists || *r.Message != "The storage account named sharedname1 is already taken." {
			t.Errorf("taken: %+v", r)
		}
	}
	if r := check(c, "freename123"); !*r.NameAvailable || r.Reason != nil {
		t.Errorf("free: %+v", r)
	}
}

func TestBlobContainers(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e, e.SubscriptionID)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-bc")
	acct, err := c.create(ctx, "rg-bc", "stratactr1", accountSpec())
	if err != nil {
		t.Fatal(err)
	}
	key := *emulatortest.Must[armstorage.AccountsClientListKeysResponse](t)(c.accts.ListKeys(ctx, "rg-bc", "stratactr1", nil)).Keys[0].Value
	bc := blobClient(t, e, *acct.Properties.PrimaryEndpoints.Blob, "stratactr1", key)

	var first *http.Response
	ct := emulatortest.Must[armstorage.BlobContainersClientCreateResponse](t)(c.containers.Create(policy.WithCaptureResponse(ctx, &first), "rg-bc", "stratactr1", "images", armstorage.BlobContainer{}, nil))
	if first.StatusCode != http.StatusCreated || ct.Etag == nil || *ct.ContainerProperties.PublicAccess != armstorage.PublicAccessNone {
		t.Errorf("create answered %d: %+v", first.StatusCode, ct.BlobContainer)
	}
	if !strings.HasSuffix(*ct.ID, "/storageAccounts/stratactr1/blobServices/default/containers/images") || *ct.Type != "Microsoft.Storage/storageAccounts/blobServices/containers" {
		t.Errorf("id %s type %s", *ct.ID, *ct.Type)
	}
	if names := emulatortest.Must[[]string](t)(dataPlaneContainers(ctx, bc)); fmt.Sprint(names) != "[images]" {
		t.Errorf("the blob service has %v", names)
	}
	emulatortest.Must[armstorage.BlobContainersClientCreateResponse](t)(c.containers.Create(policy.WithCaptureResponse(ctx, &first), "rg-bc", "stratactr1", "images", armstorage.BlobContainer{}, nil))
	if first.StatusCode != http.StatusOK {
		t.Errorf("a second PUT answered %d", first.StatusCode)
	}
	g := emulatortest.Must[armstorage.BlobContainersClientGetResponse](t)(c.containers.Get(ctx, "rg-bc", "stratactr1", "images", nil))
	if *g.ContainerProperties.LeaseState != armstorage.LeaseStateAvailable {
		t.Errorf("GET %+v", g.ContainerProperties)
	}
	u := emulatortest.Must[armstorage.BlobContainersClientUpdateResponse](t)(c.containers.Update(ctx, "rg-bc", "stratactr1", "images",
		armstorage.BlobContainer{ContainerProperties: &armstorage.ContainerProperties{Metadata: map[string]*string{"purpose": to.Ptr("vhd")}}}, nil))
	if *u.ContainerProperties.Metadata["purpose"] != "vhd" || *u.ContainerProperties.PublicAccess != armstorage.PublicAccessNone {
		t.Errorf("updated %+v", u.ContainerProperties)
	}
	emulatortest.Must[armstorage.BlobContainersClientCreateResponse](t)(c.containers.Create(ctx, "rg-bc", "stratactr1", "logs-2026", armstorage.BlobContainer{}, nil))
	var names []string
	for p := c.containers.NewListPager("rg-bc", "stratactr1", nil); p.More(); {
		for _, i := range emulatortest.Must[armstorage.BlobContainersClientListResponse](t)(p.NextPage(ctx)).Value {
			names = append(names, *i.Name)
		}
	}
	if fmt.Sprint(names) != "[images logs-2026]" {
		t.Errorf("listed %v", names)
	}

	// Name rules.
	for name, msg := range map[string]string{
		"ab":                    "length is not within the permissible limits",
		strings.Repeat("a", 64): "length is not within the permissible limits",
		"Images":                "contains invalid characters",
		"a--b":                  "contains invalid characters",
		"-abc":                  "contains invalid characters",
		"abc-":                  "contains invalid characters",
	} {
		_, err := c.containers.Create(ctx, "rg-bc", "stratactr1", name, armstorage.BlobContainer{}, nil)
		if re := emulatortest.WantCode(t, err, "ContainerOperationFailure"); re.StatusCode != http.StatusBadRequest || !strings.Contains(re.Error(), msg) {
			t.Errorf("%s: %v", name, re)
		}
	}
	// Public access needs the account to allow it.
	_, err = c.containers.Create(ctx, "rg-bc", "stratactr1", "public", armstorage.BlobContainer{
		ContainerProperties: &armstorage.ContainerProperties{PublicAccess: to.Ptr(armstorage.PublicAccessBlob)}}, nil)
	emulatortest.WantCode(t, err, "PublicAccessNotPermitted")
	// A container of a missing account.
	_, err = c.containers.Create(ctx, "rg-bc", "nosuchacct", "images", armstorage.BlobContainer{}, nil)
	emulatortest.WantCode(t, err, "ParentResourceNotFound")

	// Delete: gone from ARM and from the blob service.
	var del *http.Response
	emulatortest.Must[armstorage.BlobContainersClientDeleteResponse](t)(c.containers.Delete(policy.WithCaptureResponse(ctx, &del), "rg-bc", "stratactr1", "images", nil))
	if del.StatusCode != http.StatusOK {
		t.Errorf("delete answered %d", del.StatusCode)
	}
	_, err = c.containers.Get(ctx, "rg-bc", "stratactr1", "images", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
	if names := emulatortest.Must[[]string](t)(dataPlaneContainers(ctx, bc)); fmt.Sprint(names) != "[logs-2026]" {
		t.Errorf("the blob service has %v", names)
	}
	emulatortest.Must[armstorage.BlobContainersClientDeleteResponse](t)(c.containers.Delete(policy.WithCaptureResponse(ctx, &del), "rg-bc", "stratactr1", "images", nil))
	if del.StatusCode != http.StatusNoContent {
		t.Errorf("second delete answered %d", del.StatusCode)
	}
}

// TestStorageAccountWithLatency follows a create that takes time: the Location URL answers
// 202 until the account is ready, then the account.
func TestStorageAccountWithLatency(t *testing.T) {
	e := emulatortest.Start(t, func(o *emulator.Options) { o.Latency, o.LatencyScale = "realistic", 0.01 })
	c := newClients(t, e, e.SubscriptionID)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-slow")
	p := emulatortest.Must[*runtime.Poller[armstorage.AccountsClientCreateResponse]](t)(c.accts.BeginCreate(ctx, "rg-slow", "slowacct1", accountSpec(), nil))
	_, err := c.accts.ListKeys(ctx, "rg-slow", "slowacct1", nil)
	emulatortest.WantCode(t, err, "StorageAccountIsNotProvisioned")
	_, err = c.containers.Create(ctx, "rg-slow", "slowacct1", "early", armstorage.BlobContainer{}, nil)
	emulatortest.WantCode(t, err, "StorageAccountIsNotProvisioned")
	a := emulatortest.Must[armstorage.AccountsClientCreateResponse](t)(p.PollUntilDone(ctx, pollOpts))
	if a.Name == nil || *a.Name != "slowacct1" || *a.Properties.ProvisioningState != armstorage.ProvisioningStateSucceeded {
		t.Errorf("final poll: %+v", a.Account)
	}
}

// TestStorageAccountSurvivesRestart checks that an account, its keys and its containers are
// the same after the emulator restarts from its state directory.
func TestStorageAccountSurvivesRestart(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e, e.SubscriptionID)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-keep")
	acct, err := c.create(ctx, "rg-keep", "keptacct1", accountSpec())
	if err != nil {
		t.Fatal(err)
	}
	emulatortest.Must[armstorage.BlobContainersClientCreateResponse](t)(c.containers.Create(ctx, "rg-keep", "keptacct1", "vhds", armstorage.BlobContainer{}, nil))
	keys := emulatortest.Must[armstorage.AccountsClientListKeysResponse](t)(c.accts.ListKeys(ctx, "rg-keep", "keptacct1", nil)).Keys
	e.Restart(t)
	c = newClients(t, e, e.SubscriptionID)
	after := emulatortest.Must[armstorage.AccountsClientListKeysResponse](t)(c.accts.ListKeys(ctx, "rg-keep", "keptacct1", nil)).Keys
	if *after[0].Value != *keys[0].Value || *after[1].Value != *keys[1].Value {
		t.Error("the keys changed across a restart")
	}
	names, err := dataPlaneContainers(ctx, blobClient(t, e, *acct.Properties.PrimaryEndpoints.Blob, "keptacct1", *after[0].Value))
	if err != nil || fmt.Sprint(names) != "[vhds]" {
		t.Errorf("after a restart the blob service has %v (%v)", names, err)
	}
}
