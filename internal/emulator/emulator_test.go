package emulator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// These tests drive the emulator through the official Azure SDK over HTTPS, as strata does.
// Only the admin endpoints and the raw 401 checks use plain HTTP requests.

const (
	typeWidget = "Test.Emulator/widgets"
	typeGadget = "Test.Emulator/widgets/gadgets"
	typeThing  = "Test.Emulator/things"
	testAPI    = "2024-01-01"
)

// testTypes are resource types of the tests' own: widgets complete through
// Azure-AsyncOperation and keep ETags, their gadgets are synchronous children, and things
// complete through Location and have globally unique names.
func testTypes() []arm.ResourceType {
	return []arm.ResourceType{
		{
			Type: typeWidget, Located: true, ETag: true, PatchTags: true,
			Name:   arm.NameRule{Min: 2, Max: 20, Pattern: regexp.MustCompile(`^[a-z0-9-]+$`), Describe: "Lowercase letters, digits and '-'.", ReservedWords: true},
			Create: arm.LRO{Mode: arm.AsyncOperation}, Update: arm.LRO{Mode: arm.AsyncOperation}, Delete: arm.LRO{Mode: arm.AsyncOperation},
		},
		{Type: typeGadget},
		{
			Type: typeThing, Located: true, GloballyUnique: true, GlobalNameTakenCode: "ThingNameTaken",
			Create: arm.LRO{Mode: arm.Location}, Delete: arm.LRO{Mode: arm.Location},
		},
	}
}

func withTestTypes(o *emulator.Options) { o.Types = testTypes() }

var bg = context.Background()

func rgClient(t testing.TB, env *emulatortest.Env, co *azarm.ClientOptions) *armresources.ResourceGroupsClient {
	t.Helper()
	if co == nil {
		co = env.ClientOptions
	}
	c, err := armresources.NewResourceGroupsClient(env.SubscriptionID, env.Cred, co)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func genericClient(t testing.TB, env *emulatortest.Env, co *azarm.ClientOptions) *armresources.Client {
	t.Helper()
	if co == nil {
		co = env.ClientOptions
	}
	c, err := armresources.NewClient(env.SubscriptionID, env.Cred, co)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantCode fails the test unless err is an Azure error with the status and error code.
func wantCode(t testing.TB, err error, status int, code string) {
	t.Helper()
	if re := emulatortest.WantCode(t, err, code); re.StatusCode != status {
		t.Fatalf("want %d %s, got %d %s: %v", status, code, re.StatusCode, re.ErrorCode, err)
	}
}

func widgetID(env *emulatortest.Env, rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", env.SubscriptionID, rg, typeWidget, name)
}

func TestEntraIDToken(t *testing.T) {
	env := emulatortest.Start(t)
	tok, err := env.Cred.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("want a signed JWT, got %q", tok.Token)
	}
	var header map[string]string
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(h, &header); err != nil || header["alg"] != "RS256" || header["kid"] == "" {
		t.Fatalf("token header %s: want alg RS256 and a kid", h)
	}
	var claims map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"aud": "https://management.core.windows.net/", "iss": "https://sts.windows.net/" + env.TenantID + "/",
		"tid": env.TenantID, "appid": env.ClientID,
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	for _, k := range []string{"nbf", "iat", "exp"} {
		if _, ok := claims[k].(float64); !ok {
			t.Errorf("claim %s missing: %v", k, claims)
		}
	}
	if d := time.Until(tok.ExpiresOn); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("token expires in %v, want about an hour", d)
	}

	// A wrong secret: the SDK's error, and Entra's exact answer.
	bad, err := env.NewCredential(env.TenantID, env.ClientID, "wrong")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err == nil || !strings.Contains(err.Error(), "ClientSecretCredential authentication failed") || !strings.Contains(err.Error(), "AADSTS7000215") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong secret: want a 401 AADSTS7000215 authentication failure, got %v", err)
	}
	form := url.Values{"client_id": {env.ClientID}, "client_secret": {"wrong"}, "grant_type": {"client_credentials"}, "scope": {"https://management.core.windows.net//.default"}}
	resp, err := env.HTTPClient.PostForm(env.URL+"/"+env.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 || body.Error != "invalid_client" || body.Description != "AADSTS7000215: Invalid client secret provided." || len(body.Codes) != 1 || body.Codes[0] != 7000215 {
		t.Fatalf("wrong secret: got %d %+v", resp.StatusCode, body)
	}

	// An unknown application.
	unknown, _ := env.NewCredential(env.TenantID, "00000000-0000-0000-0000-000000000001", "x")
	if _, err := unknown.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}}); err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("unknown client: want AADSTS700016, got %v", err)
	}
}

func TestARMUnauthorized(t *testing.T) {
	env := emulatortest.Start(t)
	const otherTenant, otherClient, otherSecret = "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333", "other-secret"
	if st := env.Admin(t, http.MethodPost, "/_emulator/principals", emulator.ServicePrincipal{TenantID: otherTenant, ClientID: otherClient, Secret: otherSecret}, nil); st != http.StatusNoContent {
		t.Fatalf("adding a principal: %d", st)
	}
	otherCred, err := env.NewCredential(otherTenant, otherClient, otherSecret)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := otherCred.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatalf("token of the other tenant: %v", err)
	}
	path := "/subscriptions/" + env.SubscriptionID + "/resourcegroups?api-version=2025-04-01"
	for _, tc := range []struct {
		name, auth, code string
	}{
		{"missing", "", "AuthenticationFailed"},
		{"not bearer", "Basic abc", "AuthenticationFailed"},
		{"malformed", "Bearer not-a-jwt", "InvalidAuthenticationToken"},
		// Forged, expired, other audiences and issuers: TestARMRefusesForgedTokens.
		{"foreign tenant", "Bearer " + foreign.Token, "InvalidAuthenticationTokenTenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, env.URL+path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := env.HTTPClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 401 || body.Error.Code != tc.code || resp.Header.Get("x-ms-error-code") != tc.code || body.Error.Message == "" {
				t.Fatalf("got %d %+v (x-ms-error-code %q), want 401 %s", resp.StatusCode, body, resp.Header.Get("x-ms-error-code"), tc.code)
			}
			if resp.Header.Get("WWW-Authenticate") == "" || resp.Header.Get("x-ms-request-id") == "" {
				t.Fatalf("missing WWW-Authenticate or x-ms-request-id: %v", resp.Header)
			}
		})
	}
	// Through the SDK: the other tenant's principal is refused on this subscription.
	c, err := armresources.NewResourceGroupsClient(env.SubscriptionID, otherCred, env.NewClientOptions(policy.RetryOptions{MaxRetries: -1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(bg, "anything", nil)
	wantCode(t, err, 401, "InvalidAuthenticationTokenTenant")
}

func TestResourceGroups(t *testing.T) {
	env := emulatortest.Start(t)
	c := rgClient(t, env, nil)
	var resp *http.Response
	ctx := policy.WithCaptureResponse(bg, &resp)
	created, err := c.CreateOrUpdate(ctx, "Strata-RG", armresources.ResourceGroup{Location: to.Ptr("West Europe"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("create: status %d, want 201", resp.StatusCode)
	}
	for _, h := range []string{"x-ms-request-id", "x-ms-correlation-request-id", "x-ms-ratelimit-remaining-subscription-writes"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("create: no %s header", h)
		}
	}
	wantID := "/subscriptions/" + env.SubscriptionID + "/resourceGroups/Strata-RG"
	if *created.ID != wantID || *created.Name != "Strata-RG" || *created.Location != "westeurope" || *created.Type != arm.TypeResourceGroup || *created.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("created %+v", created.ResourceGroup)
	}
	// Names are case-insensitive and keep the creator's casing.
	got, err := c.Get(bg, "strata-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.ID != wantID || *got.Tags["env"] != "dev" {
		t.Fatalf("get: %s %v", *got.ID, got.Tags)
	}
	if _, err := c.CreateOrUpdate(ctx, "STRATA-RG", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("update: %v, status %d (want 200)", err, resp.StatusCode)
	}
	if _, err := c.CreateOrUpdate(bg, "strata-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err == nil {
		t.Fatal("moving a group to another region succeeded")
	} else {
		wantCode(t, err, 409, "InvalidResourceGroupLocation")
	}
	upd, err := c.Update(bg, "strata-rg", armresources.ResourceGroupPatchable{Tags: map[string]*string{"team": to.Ptr("infra")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(upd.Tags) != 1 || *upd.Tags["team"] != "infra" {
		t.Fatalf("tags after PATCH: %v", upd.Tags)
	}
	env.ResourceGroup(t, "second")
	var names []string
	for pager := c.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.Value {
			names = append(names, *g.Name)
		}
	}
	if strings.Join(names, ",") != "Strata-RG,second" {
		t.Fatalf("list: %v", names)
	}
	ex, err := c.CheckExistence(bg, "STRATA-rg", nil)
	if err != nil || !ex.Success {
		t.Fatalf("check existence: %v %v", ex.Success, err)
	}
	ex, err = c.CheckExistence(bg, "nope", nil)
	if err != nil || ex.Success {
		t.Fatalf("check existence of a missing group: %v %v", ex.Success, err)
	}

	poller, err := c.BeginDelete(ctx, "strata-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(resp.Header.Get("Location"), env.URL+"/subscriptions/") {
		t.Fatalf("delete: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := poller.PollUntilDone(bg, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(bg, "strata-rg", nil)
	wantCode(t, err, 404, "ResourceGroupNotFound")
	_, err = c.BeginDelete(bg, "strata-rg", nil)
	wantCode(t, err, 404, "ResourceGroupNotFound")
}

func TestResourceGroupValidation(t *testing.T) {
	env := emulatortest.Start(t)
	c := rgClient(t, env, env.NewClientOptions(policy.RetryOptions{MaxRetries: -1}))
	many := map[string]*string{}
	for i := range 51 {
		many[fmt.Sprintf("t%d", i)] = to.Ptr("v")
	}
	for _, tc := range []struct {
		name, rg string
		group    armresources.ResourceGroup
		status   int
		code     string
	}{
		{"name ends with a period", "bad.", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, 400, "InvalidResourceName"},
		{"name with a space", "a b", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, 400, "InvalidResourceName"},
		{"name too long", strings.Repeat("a", 91), armresources.ResourceGroup{Location: to.Ptr("westeurope")}, 400, "InvalidResourceName"},
		{"no location", "ok", armresources.ResourceGroup{}, 400, "LocationRequired"},
		{"unknown location", "ok", armresources.ResourceGroup{Location: to.Ptr("moon")}, 400, "LocationNotAvailableForResourceType"},
		{"tag name characters", "ok", armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a/b": to.Ptr("v")}}, 400, "InvalidTagNameCharacters"},
		{"too many tags", "ok", armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: many}, 400, "InvalidTagCount"},
		{"long tag value", "ok", armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"k": to.Ptr(strings.Repeat("v", 257))}}, 400, "InvalidTagValueLength"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateOrUpdate(bg, tc.rg, tc.group, nil)
			wantCode(t, err, tc.status, tc.code)
		})
	}
	// 50 tags are fine.
	delete(many, "t0")
	if _, err := c.CreateOrUpdate(bg, "ok", armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: many}, nil); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
}

// TestAPIVersionRequired sends a request without api-version through the SDK's own
// pipeline.
func TestAPIVersionRequired(t *testing.T) {
	env := emulatortest.Start(t)
	cl, err := azarm.NewClient("test", "v1.0.0", env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(bg, http.MethodGet, env.URL+"/subscriptions/"+env.SubscriptionID+"/resourcegroups")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = runtime.NewResponseError(resp)
	wantCode(t, err, 400, "MissingApiVersionParameter")
	// Any api-version is accepted.
	g := genericClient(t, env, nil)
	env.ResourceGroup(t, "rg")
	if _, err := g.GetByID(bg, "/subscriptions/"+env.SubscriptionID+"/resourceGroups/rg", "1999-01-01", nil); err != nil {
		t.Fatalf("an old api-version: %v", err)
	}
}

// armGet GETs an ARM path through the SDK pipeline and decodes the JSON answer.
func armGet(t testing.TB, env *emulatortest.Env, path string, out any) {
	t.Helper()
	cl, err := azarm.NewClient("test", "v1.0.0", env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(bg, http.MethodGet, env.URL+path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		t.Fatalf("GET %s: %v", path, runtime.NewResponseError(resp))
	}
	if err := runtime.UnmarshalAsJSON(resp, out); err != nil {
		t.Fatal(err)
	}
}

func TestSubscriptionsAndLocations(t *testing.T) {
	env := emulatortest.Start(t)
	var subs struct {
		Value []struct {
			SubscriptionID, TenantID, State, DisplayName string
		} `json:"value"`
	}
	armGet(t, env, "/subscriptions?api-version=2022-12-01", &subs)
	if len(subs.Value) != 1 || subs.Value[0].SubscriptionID != env.SubscriptionID || subs.Value[0].TenantID != env.TenantID || subs.Value[0].State != "Enabled" {
		t.Fatalf("subscriptions: %+v", subs)
	}
	// A principal sees the subscriptions of its tenant, in the order they were added.
	second, other := "6a1d0c4e-2b3f-4c5d-8e9f-0a1b2c3d4e5f", "7b2e1d5f-3c4a-4d6e-9f0a-1b2c3d4e5f6a"
	env.Emulator.Engine().AddSubscription(arm.Subscription{ID: second, TenantID: env.TenantID, DisplayName: "Second"})
	env.Emulator.Engine().AddSubscription(arm.Subscription{ID: other, TenantID: "8c3f2e6a-4d5b-4e7f-8a1b-2c3d4e5f6a7b"})
	subs.Value = nil
	armGet(t, env, "/subscriptions?api-version=2022-12-01", &subs)
	if len(subs.Value) != 2 || subs.Value[0].SubscriptionID != env.SubscriptionID || subs.Value[1].SubscriptionID != second || subs.Value[1].DisplayName != "Second" {
		t.Fatalf("subscriptions after adding one of the tenant and one of another: %+v", subs)
	}
	var locs struct {
		Value []struct {
			Name                     string
			AvailabilityZoneMappings []struct{ LogicalZone, PhysicalZone string }
		} `json:"value"`
	}
	armGet(t, env, "/subscriptions/"+env.SubscriptionID+"/locations?api-version=2022-12-01", &locs)
	zones := map[string]int{}
	for _, l := range locs.Value {
		zones[l.Name] = len(l.AvailabilityZoneMappings)
	}
	if zones["westeurope"] != 3 || zones["eastus2"] != 3 || zones["westcentralus"] != 0 || len(zones) < 6 {
		t.Fatalf("zones by location: %v", zones)
	}
}

// TestSubscriptionWideLists lists virtual networks, network security groups and storage
// accounts of two resource groups at the subscription's level, as the SDK's ListAll and List
// pagers do, and NSGs of one group: ARM's {"value": [...]} (the emulator never pages, so no
// nextLink), every resource of its scope.
func TestSubscriptionWideLists(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	poll := &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}
	f, err := armnetwork.NewClientFactory(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := armstorage.NewAccountsClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range []string{"rg-a", "rg-b"} {
		env.ResourceGroup(t, rg)
		vp, err := f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "vnet-"+rg, armnetwork.VirtualNetwork{Location: to.Ptr(env.Location),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}}}}, nil)
		if err == nil {
			_, err = vp.PollUntilDone(ctx, poll)
		}
		np, nerr := f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, "nsg-"+rg, armnetwork.SecurityGroup{Location: to.Ptr(env.Location)}, nil)
		if nerr == nil {
			_, nerr = np.PollUntilDone(ctx, poll)
		}
		sp, serr := accts.BeginCreate(ctx, rg, "st"+strings.ReplaceAll(rg, "-", ""), armstorage.AccountCreateParameters{Location: to.Ptr(env.Location),
			Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}, nil)
		if serr == nil {
			_, serr = sp.PollUntilDone(ctx, poll)
		}
		if err := errors.Join(err, nerr, serr); err != nil {
			t.Fatalf("create the resources of %s: %v", rg, err)
		}
	}
	sub := "/subscriptions/" + env.SubscriptionID
	tests := []struct{ path, want string }{
		{sub + "/providers/Microsoft.Network/virtualNetworks?api-version=2024-05-01", "vnet-rg-a,vnet-rg-b"},
		{sub + "/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-05-01", "nsg-rg-a,nsg-rg-b"},
		{sub + "/resourceGroups/rg-b/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-05-01", "nsg-rg-b"},
		{sub + "/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01", "strga,strgb"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var page map[string]json.RawMessage
			armGet(t, env, tt.path, &page)
			var list []struct{ ID, Name string }
			if err := json.Unmarshal(page["value"], &list); err != nil || len(page) != 1 {
				t.Fatalf("answer %v (%v): want {\"value\": [...]} alone", page, err)
			}
			var names []string
			for _, r := range list {
				names = append(names, r.Name)
				if !strings.HasPrefix(r.ID, sub+"/resourceGroups/rg-") || !strings.HasSuffix(r.ID, "/"+r.Name) {
					t.Errorf("ID %s of %s", r.ID, r.Name)
				}
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("listed %s, want %s", got, tt.want)
			}
		})
	}
}

// widgetBody is a widget's PUT body.
func widgetBody(loc string) armresources.GenericResource {
	return armresources.GenericResource{Location: to.Ptr(loc), Properties: map[string]any{"size": 3}}
}

func TestLongRunningOperations(t *testing.T) {
	env := emulatortest.Start(t, withTestTypes, func(o *emulator.Options) { o.Latency = arm.LatencyFast })
	// Widgets take 0.4 s (fast = 1/20 of 8 s).
	env.Emulator.Engine().Latency().Set(typeWidget+".create", 8*time.Second)
	env.ResourceGroup(t, "rg")
	g := genericClient(t, env, nil)
	id := widgetID(env, "rg", "w1")
	var resp *http.Response
	ctx := policy.WithCaptureResponse(bg, &resp)
	poller, err := g.BeginCreateOrUpdateByID(ctx, id, testAPI, widgetBody("westeurope"), nil)
	if err != nil {
		t.Fatal(err)
	}
	async := resp.Header.Get("Azure-AsyncOperation")
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(async, env.URL+"/subscriptions/"+env.SubscriptionID+"/providers/Test.Emulator/locations/westeurope/operations/") || resp.Header.Get("Retry-After-Ms") == "" {
		t.Fatalf("PUT: %d, Azure-AsyncOperation %q, headers %v", resp.StatusCode, async, resp.Header)
	}
	var initial map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&initial); err != nil {
		t.Fatal(err)
	}
	if st := initial["properties"].(map[string]any)["provisioningState"]; st != "Creating" {
		t.Fatalf("initial provisioningState %v", st)
	}
	// A write while the operation runs is refused.
	_, err = g.BeginCreateOrUpdateByID(bg, id, testAPI, widgetBody("westeurope"), nil)
	wantCode(t, err, 409, "AnotherOperationInProgress")
	start := time.Now()
	if _, err := poller.PollUntilDone(bg, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || el > 5*time.Second {
		t.Errorf("the operation took %v, want about 0.4 s", el)
	}
	got, err := g.GetByID(bg, id, testAPI, nil)
	if err != nil {
		t.Fatal(err)
	}
	props := got.Properties.(map[string]any)
	if props["provisioningState"] != "Succeeded" || props["size"] != float64(3) {
		t.Fatalf("after the operation: %v", props)
	}

	// Location mode: 202, the poller's result is the resource.
	thingID := fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/%s/t1", env.SubscriptionID, typeThing)
	tp, err := g.BeginCreateOrUpdateByID(ctx, thingID, testAPI, widgetBody("northeurope"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" || resp.Header.Get("Azure-AsyncOperation") != "" {
		t.Fatalf("Location-mode PUT: %d %v", resp.StatusCode, resp.Header)
	}
	thing, err := tp.PollUntilDone(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if thing.ID == nil || *thing.ID != thingID || *thing.Location != "northeurope" {
		t.Fatalf("Location-mode result: %+v", thing.GenericResource)
	}
	// Delete through Azure-AsyncOperation, then 404.
	dp, err := g.BeginDeleteByID(bg, id, testAPI, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(bg, nil); err != nil {
		t.Fatal(err)
	}
	_, err = g.GetByID(bg, id, testAPI, nil)
	wantCode(t, err, 404, "ResourceNotFound")
	// Deleting what is not there is a 204.
	if _, err := g.BeginDeleteByID(ctx, id, testAPI, nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("deleting a missing widget: %v %v", err, resp.StatusCode)
	}
}

func TestConsistency(t *testing.T) {
	env := emulatortest.Start(t, withTestTypes)
	g := genericClient(t, env, env.NewClientOptions(policy.RetryOptions{MaxRetries: -1}))
	env.ResourceGroup(t, "rg")
	w := widgetID(env, "rg", "w1")
	put := func(id string, body armresources.GenericResource) error {
		p, err := g.BeginCreateOrUpdateByID(bg, id, testAPI, body, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(bg, nil)
		return err
	}
	for _, tc := range []struct {
		name   string
		id     string
		body   armresources.GenericResource
		status int
		code   string
	}{
		{"missing group", widgetID(env, "nope", "w1"), widgetBody("westeurope"), 404, "ResourceGroupNotFound"},
		{"missing parent", widgetID(env, "rg", "ghost") + "/gadgets/g1", armresources.GenericResource{}, 404, "ParentResourceNotFound"},
		{"invalid name", widgetID(env, "rg", "Bad_Name"), widgetBody("westeurope"), 400, "InvalidResourceName"},
		{"reserved word", widgetID(env, "rg", "my-microsoft-1"), widgetBody("westeurope"), 400, "ReservedResourceName"},
		{"unknown namespace", fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/No.Such/things/x", env.SubscriptionID), widgetBody("westeurope"), 400, "InvalidResourceNamespace"},
		{"missing subscription", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Test.Emulator/widgets/w", widgetBody("westeurope"), 404, "SubscriptionNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, put(tc.id, tc.body), tc.status, tc.code) })
	}
	_, err := g.GetByID(bg, w, testAPI, nil)
	wantCode(t, err, 404, "ResourceNotFound")
	if re := emulatortest.ResponseError(t, err); !strings.Contains(string(must(io.ReadAll(re.RawResponse.Body))), "The Resource 'Test.Emulator/widgets/w1' under resource group 'rg' was not found.") {
		t.Errorf("not-found message: %v", err)
	}

	// ETags and If-Match.
	if err := put(w, widgetBody("westeurope")); err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	ctx := policy.WithCaptureResponse(bg, &resp)
	if _, err := g.GetByID(ctx, w, testAPI, nil); err != nil || resp.Header.Get("ETag") == "" {
		t.Fatalf("no ETag header: %v %v", err, resp.Header)
	}
	etag := resp.Header.Get("ETag")
	stale := policy.WithHTTPHeader(bg, http.Header{"If-Match": {`W/"00000000-0000-0000-0000-000000000000"`}})
	_, err = g.BeginCreateOrUpdateByID(stale, w, testAPI, widgetBody("westeurope"), nil)
	wantCode(t, err, 412, "PreconditionFailed")
	fresh := policy.WithHTTPHeader(bg, http.Header{"If-Match": {etag}})
	p, err := g.BeginCreateOrUpdateByID(fresh, w, testAPI, widgetBody("westeurope"), nil)
	if err != nil {
		t.Fatalf("PUT with the current ETag: %v", err)
	}
	if _, err := p.PollUntilDone(bg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.GetByID(ctx, w, testAPI, nil); err != nil {
		t.Fatalf("GET after the update: %v", err)
	}
	if resp.Header.Get("ETag") == etag {
		t.Fatal("the ETag did not change on update")
	}
	// PATCH replaces the tags, synchronously.
	up, err := g.BeginUpdateByID(bg, w, testAPI, armresources.GenericResource{Tags: map[string]*string{"k": to.Ptr("v")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := up.PollUntilDone(bg, nil)
	if err != nil || *patched.Tags["k"] != "v" {
		t.Fatalf("PATCH tags: %v %+v", err, patched)
	}
	// A child and the lists.
	if err := put(w+"/gadgets/g1", armresources.GenericResource{}); err != nil {
		t.Fatal(err)
	}
	var kids struct{ Value []map[string]any }
	armGet(t, env, w+"/gadgets?api-version="+testAPI, &kids)
	if len(kids.Value) != 1 || kids.Value[0]["name"] != "g1" {
		t.Fatalf("children: %v", kids)
	}
	var subWide struct{ Value []map[string]any }
	armGet(t, env, "/subscriptions/"+env.SubscriptionID+"/providers/"+typeWidget+"?api-version="+testAPI, &subWide)
	if len(subWide.Value) != 1 {
		t.Fatalf("subscription-wide list: %v", subWide)
	}
	var names []string
	for pager := g.NewListByResourceGroupPager("rg", nil); pager.More(); {
		page, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Value {
			names = append(names, *r.Type+"/"+*r.Name)
		}
	}
	if strings.Join(names, ",") != typeWidget+"/w1" {
		t.Fatalf("generic list: %v", names)
	}
	// Globally unique names.
	thing := func(rg string) string {
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/unique1", env.SubscriptionID, rg, typeThing)
	}
	if err := put(thing("rg"), widgetBody("westeurope")); err != nil {
		t.Fatal(err)
	}
	env.ResourceGroup(t, "rg2")
	wantCode(t, put(thing("rg2"), widgetBody("westeurope")), 409, "ThingNameTaken")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestCascadeDelete(t *testing.T) {
	env := emulatortest.Start(t, withTestTypes, func(o *emulator.Options) { o.Latency = arm.LatencyFast })
	env.Emulator.Engine().Latency().Set(arm.TypeResourceGroup+".delete", 4*time.Second) // 0.2 s
	env.ResourceGroup(t, "doomed")
	env.ResourceGroup(t, "kept")
	g := genericClient(t, env, nil)
	for _, id := range []string{widgetID(env, "doomed", "w1"), widgetID(env, "doomed", "w1") + "/gadgets/g1", widgetID(env, "kept", "w2")} {
		p, err := g.BeginCreateOrUpdateByID(bg, id, testAPI, widgetBody("westeurope"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(bg, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A virtual network of the network provider goes too.
	vnets, err := armnetwork.NewVirtualNetworksClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	vp, err := vnets.BeginCreateOrUpdate(bg, "doomed", "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr("westeurope"),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}},
			Subnets:      []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24")}}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vp.PollUntilDone(bg, nil); err != nil {
		t.Fatal(err)
	}
	c := rgClient(t, env, nil)
	poller, err := c.BeginDelete(bg, "doomed", nil)
	if err != nil {
		t.Fatal(err)
	}
	// While the group is being deleted its resources are still there, and writes are refused.
	if _, err := g.GetByID(bg, widgetID(env, "doomed", "w1"), testAPI, nil); err != nil {
		t.Fatalf("during the deletion: %v", err)
	}
	_, err = g.BeginCreateOrUpdateByID(bg, widgetID(env, "doomed", "w3"), testAPI, widgetBody("westeurope"), nil)
	wantCode(t, err, 409, "ResourceGroupBeingDeleted")
	if _, err := poller.PollUntilDone(bg, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{widgetID(env, "doomed", "w1"), widgetID(env, "doomed", "w1") + "/gadgets/g1"} {
		_, err := g.GetByID(bg, id, testAPI, nil)
		wantCode(t, err, 404, "ResourceGroupNotFound")
	}
	if _, err := g.GetByID(bg, widgetID(env, "kept", "w2"), testAPI, nil); err != nil {
		t.Fatalf("a resource of another group: %v", err)
	}
	_, err = vnets.Get(bg, "doomed", "vnet", nil)
	wantCode(t, err, 404, "ResourceGroupNotFound")
	var inv arm.State
	env.Admin(t, http.MethodGet, "/_emulator/inventory", nil, &inv)
	if len(inv.Resources) != 2 {
		t.Fatalf("inventory after the cascade: %+v", inv.Resources)
	}
}

// remaining reads a rate-limit header.
func remaining(t testing.TB, resp *http.Response, class string) int {
	t.Helper()
	v := resp.Header.Get("x-ms-ratelimit-remaining-subscription-" + class)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("x-ms-ratelimit-remaining-subscription-%s = %q", class, v)
	}
	return n
}

func TestThrottling(t *testing.T) {
	// Buckets of 5 reads refilled at 0.5/s, 4 writes at 0.2/s.
	env := emulatortest.Start(t, func(o *emulator.Options) { o.ThrottleScale = 0.02 })
	env.ResourceGroup(t, "rg")
	c := rgClient(t, env, env.NewClientOptions(policy.RetryOptions{MaxRetries: -1}))
	var resp *http.Response
	ctx := policy.WithCaptureResponse(bg, &resp)
	last := 1 << 30
	var err error
	for i := 0; i < 20; i++ {
		if _, err = c.Get(ctx, "rg", nil); err != nil {
			break
		}
		n := remaining(t, resp, "reads")
		if n > last {
			t.Fatalf("remaining reads went up: %d after %d", n, last)
		}
		last = n
	}
	wantCode(t, err, 429, "TooManyRequests")
	ra, perr := strconv.Atoi(resp.Header.Get("Retry-After"))
	if perr != nil || ra < 1 || ra > 5 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(err.Error(), "Please try again after") {
		t.Errorf("throttling message: %v", err)
	}
	if ms := resp.Header.Get("Retry-After-Ms"); ms != "" {
		t.Errorf("Retry-After-Ms %q in real time: Azure's ARM sends whole seconds only", ms)
	}
	// Writes have their own bucket.
	if _, err := c.CreateOrUpdate(ctx, "rg2", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatalf("a write while reads are throttled: %v", err)
	}
	if remaining(t, resp, "writes") != 2 {
		t.Errorf("remaining writes %d, want 2", remaining(t, resp, "writes"))
	}
	// An SDK client that honours Retry-After gets through.
	if _, err := rgClient(t, env, nil).Get(bg, "rg", nil); err != nil {
		t.Fatalf("with retries: %v", err)
	}
	// Compressed time: refills ten times faster (5 reads/s), and the 429 says the exact wait.
	env.Admin(t, http.MethodPut, "/_emulator/throttling", arm.ThrottleOptions{Enabled: true, Scale: 0.02, TimeScale: 0.1}, nil)
	for range 20 {
		if _, err = c.Get(ctx, "rg", nil); err != nil {
			break
		}
	}
	wantCode(t, err, 429, "TooManyRequests")
	if ms, perr := strconv.Atoi(resp.Header.Get("Retry-After-Ms")); perr != nil || ms < 1 || ms > 200 {
		t.Errorf("compressed time: Retry-After-Ms %q, want at most 200 (one read at 5/s)", resp.Header.Get("Retry-After-Ms"))
	}
	// Throttling off: every answer still has the header.
	env.Admin(t, http.MethodPut, "/_emulator/throttling", arm.ThrottleOptions{Enabled: false}, nil)
	for range 10 {
		if _, err := c.Get(ctx, "rg", nil); err != nil {
			t.Fatalf("throttling off: %v", err)
		}
	}
	if remaining(t, resp, "reads") != 249 {
		t.Errorf("remaining reads with throttling off: %d", remaining(t, resp, "reads"))
	}
}

// counters returns the admin counters as "METHOD type status" -> count.
func counters(t testing.TB, env *emulatortest.Env) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, c := range env.Counters(t) {
		m[fmt.Sprintf("%s %s %d", c.Method, c.Type, c.Status)] += c.Count
	}
	return m
}

func TestFaultsConverge(t *testing.T) {
	faults := []arm.FaultRule{
		{Method: "PUT", Type: arm.TypeResourceGroup, Status: 500, Rate: 0.2},
		{Method: "GET", Type: arm.TypeResourceGroup, Status: 503, Rate: 0.2},
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Faults = faults; o.Seed = 7 })
	c := rgClient(t, env, nil)
	for i := range 30 {
		name := fmt.Sprintf("rg%d", i)
		if _, err := c.CreateOrUpdate(bg, name, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if _, err := c.Get(bg, name, nil); err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
	}
	m := counters(t, env)
	put500, get503 := m["PUT "+arm.TypeResourceGroup+" 500"], m["GET "+arm.TypeResourceGroup+" 503"]
	if put500 < 2 || get503 < 2 || m["PUT "+arm.TypeResourceGroup+" 201"] != 30 || m["GET "+arm.TypeResourceGroup+" 200"] != 30 {
		t.Fatalf("counters: %v", m)
	}
	// A dropped connection is retried by the SDK too.
	env.Admin(t, http.MethodPut, "/_emulator/faults", []arm.FaultRule{{Kind: arm.FaultDrop, Method: "GET", Type: arm.TypeResourceGroup, Rate: 1, Count: 1}}, nil)
	if _, err := c.Get(bg, "rg0", nil); err != nil {
		t.Fatalf("after a dropped connection: %v", err)
	}
	if m := counters(t, env); m["GET "+arm.TypeResourceGroup+" 0"] != 1 {
		t.Fatalf("dropped connections counted: %v", m)
	}
}

// faultSequence returns which of n GETs fail, without retries.
func faultSequence(t *testing.T, seed uint64, n int) string {
	env := emulatortest.Start(t, func(o *emulator.Options) {
		o.Seed = seed
		o.Faults = []arm.FaultRule{{Method: "GET", Type: arm.TypeResourceGroup, Status: 500, Rate: 0.3}}
	})
	env.ResourceGroup(t, "rg")
	c := rgClient(t, env, env.NewClientOptions(policy.RetryOptions{MaxRetries: -1}))
	var b strings.Builder
	for range n {
		if _, err := c.Get(bg, "rg", nil); err != nil {
			wantCode(t, err, 500, "InternalServerError")
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestFaultsDeterministic(t *testing.T) {
	a, b, other := faultSequence(t, 42, 40), faultSequence(t, 42, 40), faultSequence(t, 43, 40)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == other {
		t.Fatalf("seeds 42 and 43 gave the same faults: %s", a)
	}
	if n := strings.Count(a, "x"); n < 4 || n > 24 {
		t.Fatalf("%d of 40 failed at rate 0.3: %s", n, a)
	}
}

func TestLROFailedFault(t *testing.T) {
	env := emulatortest.Start(t, withTestTypes, func(o *emulator.Options) {
		o.Faults = []arm.FaultRule{
			{Kind: arm.FaultLROFailed, Method: "PUT", Type: typeWidget, Rate: 1, Code: "InjectedFailure", Message: "the widget broke"},
			{Kind: arm.FaultLROFailed, Method: "PUT", Type: typeThing, Rate: 1, Code: "ThingFailed"},
		}
	})
	env.ResourceGroup(t, "rg")
	g := genericClient(t, env, nil)
	p, err := g.BeginCreateOrUpdateByID(bg, widgetID(env, "rg", "w1"), testAPI, widgetBody("westeurope"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.PollUntilDone(bg, nil)
	re := emulatortest.ResponseError(t, err)
	if re.ErrorCode != "InjectedFailure" || !strings.Contains(err.Error(), "the widget broke") {
		t.Fatalf("async failure: %v", err)
	}
	got, err := g.GetByID(bg, widgetID(env, "rg", "w1"), testAPI, nil)
	if err != nil || got.Properties.(map[string]any)["provisioningState"] != "Failed" {
		t.Fatalf("a failed widget: %v %+v", err, got)
	}
	p, err = g.BeginCreateOrUpdateByID(bg, fmt.Sprintf("/subscriptions/%s/resourceGroups/rg/providers/%s/t1", env.SubscriptionID, typeThing), testAPI, widgetBody("westeurope"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.PollUntilDone(bg, nil)
	if re := emulatortest.ResponseError(t, err); re.ErrorCode != "ThingFailed" {
		t.Fatalf("Location-mode failure: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = arm.LatencyRealistic; o.LatencyScale = 0.02 })
	env.ResourceGroup(t, "kept")
	env.ResourceGroup(t, "going")
	c := rgClient(t, env, nil)
	// The deletion takes 0.6 s (30 s x 0.02): the emulator restarts meanwhile.
	poller, err := c.BeginDelete(bg, "going", nil)
	if err != nil {
		t.Fatal(err)
	}
	token, err := poller.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	sub, tenant := env.SubscriptionID, env.TenantID
	env.Restart(t)
	if env.SubscriptionID != sub || env.TenantID != tenant {
		t.Fatalf("identity changed across a restart: %s/%s -> %s/%s", sub, tenant, env.SubscriptionID, env.TenantID)
	}
	c = rgClient(t, env, nil)
	if _, err := c.Get(bg, "kept", nil); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	resumed, err := c.BeginDelete(bg, "going", &armresources.ResourceGroupsClientBeginDeleteOptions{ResumeToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resumed.PollUntilDone(bg, nil); err != nil {
		t.Fatalf("resuming the deletion: %v", err)
	}
	_, err = c.Get(bg, "going", nil)
	wantCode(t, err, 404, "ResourceGroupNotFound")
}

func TestAdmin(t *testing.T) {
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "rg")
	var inv arm.State
	env.Admin(t, http.MethodGet, "/_emulator/inventory", nil, &inv)
	if len(inv.Resources) != 1 || inv.Resources[0].Type != arm.TypeResourceGroup {
		t.Fatalf("inventory: %+v", inv)
	}
	if st := env.Admin(t, http.MethodPost, "/_emulator/faults", map[string]string{"spec": "method=GET,status=503,rate=1,count=1"}, nil); st != 200 {
		t.Fatalf("adding a fault by spec: %d", st)
	}
	if st := env.Admin(t, http.MethodPost, "/_emulator/faults", map[string]string{"spec": "rate=2"}, nil); st != 400 {
		t.Fatalf("a bad fault: %d", st)
	}
	var info map[string]any
	env.Admin(t, http.MethodGet, "/_emulator/info", nil, &info)
	if info["url"] != env.URL || len(info["faults"].([]any)) != 1 {
		t.Fatalf("info: %v", info)
	}
	if st := env.Admin(t, http.MethodPost, "/_emulator/reset", nil, nil); st != http.StatusNoContent {
		t.Fatalf("reset: %d", st)
	}
	env.Admin(t, http.MethodGet, "/_emulator/inventory", nil, &inv)
	if len(inv.Resources) != 0 {
		t.Fatalf("inventory after a reset: %+v", inv.Resources)
	}
	if m := counters(t, env); len(m) != 0 {
		t.Fatalf("counters after a reset: %v", m)
	}
}

// TestAdminBadInputChangesNothing: a request the admin endpoints refuse answers 400 with what
// is wrong, and leaves the rules, throttling, latency and principals as they were.
func TestAdminBadInputChangesNothing(t *testing.T) {
	env := emulatortest.Start(t)
	bearer := "Bearer " + env.AdminToken
	state := func() string {
		var b strings.Builder
		for _, p := range []string{"/_emulator/faults", "/_emulator/throttling", "/_emulator/latency"} {
			_, body := adminCall(t, env, http.MethodGet, p, bearer, nil)
			b.WriteString(body)
		}
		_, info := adminCall(t, env, http.MethodGet, "/_emulator/info", bearer, nil)
		var in struct{ Principals any }
		_ = json.Unmarshal([]byte(info), &in)
		fmt.Fprint(&b, in.Principals)
		return b.String()
	}
	before := state()
	valid := map[string]any{"method": "GET", "status": 503, "rate": 1}
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"a list with one bad rule", http.MethodPost, "/_emulator/faults", []any{valid, map[string]any{"status": 200}}, "fault status 200: want 400-599"},
		{"a bad rule by spec", http.MethodPost, "/_emulator/faults", map[string]string{"spec": "rate=2"}, "fault rate 2: want 0 to 1"},
		{"a bad rule list to replace", http.MethodPut, "/_emulator/faults", []any{valid, map[string]any{"kind": "melt"}}, `fault kind "melt"`},
		{"a negative throttling scale", http.MethodPut, "/_emulator/throttling", map[string]any{"enabled": true, "scale": -1}, "scale must be at least 0, got -1"},
		{"a negative throttling time scale", http.MethodPut, "/_emulator/throttling", map[string]any{"enabled": true, "timeScale": -0.5}, "timeScale must be at least 0, got -0.5"},
		{"throttling not JSON", http.MethodPut, "/_emulator/throttling", "on", "cannot unmarshal"},
		{"an unknown latency profile", http.MethodPut, "/_emulator/latency", map[string]any{"profile": "slow"}, `latency "slow": want zero, fast or realistic`},
		{"a principal without a secret", http.MethodPost, "/_emulator/principals", map[string]any{"tenantId": "t", "clientId": "c"}, `want {"tenantId", "clientId", "secret"}`},
	} {
		status, body := adminCall(t, env, tc.method, tc.path, bearer, tc.body)
		var answer struct{ Error string }
		if err := json.Unmarshal([]byte(body), &answer); status != http.StatusBadRequest || err != nil || !strings.Contains(answer.Error, tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, status, body, tc.want)
		}
		if after := state(); after != before {
			t.Fatalf("%s changed the emulator:\n%s\nwas\n%s", tc.name, after, before)
		}
	}
}

// TestCloudAccountYAML checks that the printed CloudAccount is one strata accepts, and that its
// endpoints and CA work with the SDK.
func TestCloudAccountYAML(t *testing.T) {
	env := emulatortest.Start(t)
	objs, err := v1alpha1.Decode([]byte(env.Emulator.CloudAccountYAML("emulator")))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode: %v (%d objects)", err, len(objs))
	}
	acct, ok := objs[0].(*v1alpha1.CloudAccount)
	if !ok {
		t.Fatalf("decoded a %T", objs[0])
	}
	v1alpha1.Default(acct)
	if errs := v1alpha1.Validate(bg, acct, nil); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	az := acct.Spec.Azure
	if az.TenantID != env.TenantID || az.ClientID != env.ClientID || az.ClientSecret.Reveal() != env.ClientSecret ||
		az.Environment != v1alpha1.EnvironmentCustom || az.Endpoints.ResourceManager != env.URL || az.Endpoints.ActiveDirectory != env.URL+"/" ||
		az.Endpoints.CABundle != string(env.Emulator.CACertPEM()) {
		t.Fatalf("account: %+v %+v", az, az.Endpoints)
	}
}
