package arm

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FaultRule
		err  string
	}{
		{"method=put,type=Microsoft.Network/virtualNetworks,status=503,rate=0.2",
			FaultRule{Method: "PUT", Type: "Microsoft.Network/virtualNetworks", Kind: FaultStatus, Status: 503, Rate: 0.2}, ""},
		{"rate=1", FaultRule{Kind: FaultStatus, Status: 500, Rate: 1}, ""},
		{"kind=drop,rate=0.5,count=2", FaultRule{Kind: FaultDrop, Rate: 0.5, Count: 2}, ""},
		{"kind=lro-failed,type=*,code=Boom,rate=1", FaultRule{Kind: FaultLROFailed, Code: "Boom", Rate: 1}, ""},
		{"status=429,retry-after=7,rate=1", FaultRule{Kind: FaultStatus, Status: 429, RetryAfter: 7, Rate: 1}, ""},
		{"rate=2", FaultRule{}, "want 0 to 1"},
		{"status=200,rate=1", FaultRule{}, "want 400-599"},
		{"colour=red", FaultRule{}, "unknown key"},
		{"rate", FaultRule{}, "not key=value"},
		{"kind=melt", FaultRule{}, "want status, drop or lro-failed"},
	} {
		got, err := ParseFault(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	vnet := &ResourceType{Type: "Microsoft.Network/virtualNetworks", Name: NameRule{Min: 2, Max: 64, Pattern: regexp.MustCompile(`^[A-Za-z0-9][\w.-]*[\w]$`)}}
	storage := &ResourceType{Type: "Microsoft.Storage/storageAccounts", Name: NameRule{Min: 3, Max: 24, Pattern: regexp.MustCompile(`^[a-z0-9]+$`), Code: "AccountNameInvalid",
		Describe: "Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."}}
	public := &ResourceType{Type: "Microsoft.Network/publicIPAddresses", Name: NameRule{ReservedWords: true}}
	for _, tc := range []struct {
		rt         *ResourceType
		name, code string
		msg        string
	}{
		{vnet, "vnet-1", "", ""},
		{vnet, "v", "InvalidResourceName", "Resource name v is invalid."},
		{vnet, "-vnet", "InvalidResourceName", ""},
		{vnet, "a#b", "InvalidResourceName", ""},
		{storage, "Bad", "AccountNameInvalid", "Bad is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."},
		{public, "xbox", "ReservedResourceName", "The resource name xbox or a part of the name is a trademarked or reserved word."},
		{public, "mymicrosoftip", "ReservedResourceName", ""},
		{public, "login-ip", "ReservedResourceName", ""},
		{public, "my-xbox-ip", "", ""},
		{&ResourceType{Type: "X.Y/zs"}, strings.Repeat("a", 261), "InvalidResourceName", ""},
	} {
		err := CheckName(tc.rt, tc.name)
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s %q: %v", tc.rt.Type, tc.name, err)
		case tc.code != "" && (err == nil || err.Code != tc.code || err.Status != http.StatusBadRequest):
			t.Errorf("%s %q: got %v, want %s", tc.rt.Type, tc.name, err, tc.code)
		case tc.msg != "" && err.Message != tc.msg:
			t.Errorf("%s %q: message %q, want %q", tc.rt.Type, tc.name, err.Message, tc.msg)
		}
	}
}

func TestCheckTags(t *testing.T) {
	many := map[string]any{}
	for i := range 16 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, tc := range []struct {
		rule TagRule
		tags any
		code string
	}{
		{TagRule{}, map[string]any{"env": "dev", "Team": "x"}, ""},
		{TagRule{}, nil, ""},
		{TagRule{}, map[string]any{"a<b": "v", "c%d": "v"}, "InvalidTagNameCharacters"},
		{TagRule{}, map[string]any{"microsoftThing": "v"}, "InvalidTagName"},
		{TagRule{}, map[string]any{"env": "a", "ENV": "b"}, "InvalidTagName"},
		{TagRule{MaxTags: 15}, many, "InvalidTagCount"},
		{TagRule{}, many, ""},
		{TagRule{MaxNameLength: 128}, map[string]any{strings.Repeat("n", 129): "v"}, "InvalidTagNameLength"},
		{TagRule{}, map[string]any{"k": strings.Repeat("v", 257)}, "InvalidTagValueLength"},
		{TagRule{}, map[string]any{"k": 3.0}, "InvalidRequestContent"},
		{TagRule{}, []any{"x"}, "InvalidRequestContent"},
	} {
		err := CheckTags(tc.rule, tc.tags)
		if (err == nil) != (tc.code == "") || err != nil && err.Code != tc.code {
			t.Errorf("%v: got %v, want %q", tc.tags, err, tc.code)
		}
	}
}

func TestLatencyModel(t *testing.T) {
	m := NewLatencyModel(LatencyRealistic, 1)
	for op, want := range map[string]time.Duration{
		"Microsoft.Network/virtualNetworks.create":          5 * time.Second,
		"microsoft.network/VIRTUALNETWORKS.update":          5 * time.Second, // falls back to create
		"Microsoft.ContainerService/managedClusters.create": 5 * time.Minute,
		"aks.delete": 3 * time.Minute,
		"unknown.op": 2 * time.Second,
	} {
		if got := m.Duration(op, 0.5); got != want {
			t.Errorf("realistic %s = %v, want %v", op, got, want)
		}
	}
	if lo, hi := m.Duration("vm.create", 0), m.Duration("vm.create", 0.999); lo != 45*time.Second*9/10 || hi <= 49*time.Second || hi > 50*time.Second {
		t.Errorf("vm.create jitter range %v..%v, want 40.5 s..49.5 s", lo, hi)
	}
	m.SetProfile(LatencyFast, 2)
	if got := m.Duration("vm.create", 0.5); got != 45*time.Second/10 {
		t.Errorf("fast x2 vm.create = %v, want 4.5 s", got)
	}
	m.SetProfile(LatencyZero, 1)
	if got := m.Duration("aks.create", 0.5); got != 0 {
		t.Errorf("zero: %v", got)
	}
	if _, err := ParseLatency("slow"); err == nil {
		t.Error("ParseLatency accepted slow")
	}
}

func TestThrottler(t *testing.T) {
	th := newThrottler(ThrottleOptions{Enabled: true, Scale: 0.02}) // 5 reads, 0.5/s
	now := time.Unix(1000, 0)
	k := bucketKey{"s", "p", classReads}
	for want := 4; want >= 0; want-- {
		if rem, wait := th.take(now, k); rem != want || wait != 0 {
			t.Fatalf("take: %d %v, want %d", rem, wait, want)
		}
	}
	if _, wait := th.take(now, k); wait != 2*time.Second {
		t.Fatalf("empty bucket: wait %v, want 2 s", wait)
	}
	if rem, wait := th.take(now.Add(2*time.Second), k); rem != 0 || wait != 0 {
		t.Fatalf("after refill: %d %v", rem, wait)
	}
	// Other principals and classes have their own buckets.
	if rem, _ := th.take(now, bucketKey{"s", "q", classReads}); rem != 4 {
		t.Fatalf("another principal: %d", rem)
	}
	if rem, _ := th.take(now, bucketKey{"s", "p", classWrites}); rem != 3 {
		t.Fatalf("writes: %d", rem)
	}
	// Compressed time refills faster and keeps the bucket size.
	fast := newThrottler(ThrottleOptions{Enabled: true, Scale: 0.02, TimeScale: 0.1}) // 5 reads, 5/s
	for range 5 {
		fast.take(now, k)
	}
	if _, wait := fast.take(now, k); wait != 200*time.Millisecond {
		t.Fatalf("compressed time, empty bucket: wait %v, want 200 ms", wait)
	}
	if rem, wait := fast.take(now.Add(time.Second), k); rem != 4 || wait != 0 {
		t.Fatalf("compressed time, after 1 s: %d %v, want a full bucket less one", rem, wait)
	}
	off := newThrottler(ThrottleOptions{})
	for range 1000 {
		if rem, wait := off.take(now, k); rem != 249 || wait != 0 {
			t.Fatalf("disabled: %d %v", rem, wait)
		}
	}
}

func TestFaultDeterminism(t *testing.T) {
	seq := func(seed uint64) string {
		fs := newFaultSet([]FaultRule{{Kind: FaultStatus, Status: 500, Method: "GET", Rate: 0.25}})
		var b strings.Builder
		for range 64 {
			if fs.pick(seed, "GET", "x/y", FaultStatus) != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
			// Requests the rule does not match do not move its sequence.
			fs.pick(seed, "PUT", "x/y", FaultStatus)
		}
		return b.String()
	}
	if a, b := seq(9), seq(9); a != b {
		t.Fatalf("same seed:\n%s\n%s", a, b)
	}
	if seq(9) == seq(10) {
		t.Fatal("seeds 9 and 10 agree")
	}
	fs := newFaultSet([]FaultRule{{Kind: FaultDrop, Rate: 1, Count: 2}})
	n := 0
	for range 10 {
		if fs.pick(1, "GET", "", FaultDrop) != nil {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("count 2 fired %d times", n)
	}
}

func TestParseAndPrintIDs(t *testing.T) {
	id := ParseID("/SUBSCRIPTIONS/s/resourcegroups/RG/Providers/Microsoft.Network/virtualNetworks/v/subnets/a")
	if id.Subscription != "s" || id.ResourceGroup != "RG" || id.FullType() != "Microsoft.Network/virtualNetworks/subnets" || id.Name != "a" {
		t.Fatalf("%+v", id)
	}
	if got := parentKey(id); got != "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v" {
		t.Fatalf("parent key %s", got)
	}
	if got := parentKey(ParseID("/subscriptions/s/resourceGroups/rg")); got != "/subscriptions/s" {
		t.Fatalf("parent key of a group %s", got)
	}
	if u := uuidFrom(1, 2); len(u) != 36 || u[14] != '4' {
		t.Fatalf("uuid %s", u)
	}
	if w := typeWords("Microsoft.Storage/storageAccounts"); w != "storage account" {
		t.Fatalf("typeWords %q", w)
	}
	for typ, want := range map[string]string{
		"Microsoft.Network/publicIPAddresses":                   "public IP address",
		"Microsoft.Network/virtualNetworks/subnets":             "subnet",
		"Microsoft.Network/natGateways":                         "nat gateway",
		"Microsoft.ContainerService/managedClusters/agentPools": "agent pool",
		"Microsoft.Network/networkSecurityGroups":               "network security group",
		"Microsoft.Compute/images":                              "image",
	} {
		if w := typeWords(typ); w != want {
			t.Errorf("typeWords(%s) = %q, want %q", typ, w, want)
		}
	}
}

// TestStateRoundTrip saves and reloads a cloud with a failed operation, an operation in
// flight and resources, through JSON as the emulator saves it.
func TestStateRoundTrip(t *testing.T) {
	now := time.Unix(5000, 0)
	clock := func() time.Time { return now }
	typ := ResourceType{Type: "Test.X/things", Create: LRO{Mode: AsyncOperation}}
	rg := ResourceType{Type: TypeResourceGroup, Scope: SubscriptionScope}
	mk := func() *Engine {
		e := NewEngine(EngineOptions{Now: clock, Subscriptions: []Subscription{{ID: "s", TenantID: "t"}},
			Latency: NewLatencyModel(LatencyRealistic, 1)})
		e.Register(typ, rg)
		return e
	}
	e := mk()
	defer e.Close()
	do := func(e *Engine, method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "https://h"+path+"?api-version=1", strings.NewReader(body))
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w
	}
	if w := do(e, "PUT", "/subscriptions/s/resourceGroups/rg", `{"location":"westeurope"}`); w.Code != 201 {
		t.Fatalf("rg: %d %s", w.Code, w.Body)
	}
	if err := e.AddFaults(FaultRule{Kind: FaultLROFailed, Type: typ.Type, Rate: 1, Count: 1, Code: "Broke"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if w := do(e, "PUT", "/subscriptions/s/resourceGroups/rg/providers/Test.X/things/"+n, `{"properties":{"n":1}}`); w.Code != 201 {
			t.Fatalf("thing %s: %d %s", n, w.Code, w.Body)
		}
	}
	now = now.Add(2500 * time.Millisecond) // past both deadlines (2 s ± 10 %)
	b, err := json.Marshal(e.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	e2 := mk()
	defer e2.Close()
	if err := e2.Restore(&s); err != nil {
		t.Fatal(err)
	}
	w := do(e2, "GET", "/subscriptions/s/resourceGroups/rg/providers/Test.X/things/a", "")
	var got map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	if got["properties"].(map[string]any)["provisioningState"] != "Failed" {
		t.Fatalf("a after reload: %s", w.Body)
	}
	snap := e2.Snapshot()
	var failed *Operation
	for _, op := range snap.Operations {
		if strings.HasSuffix(op.ResourceID, "/a") {
			failed = op
		}
	}
	if failed == nil || failed.Status != StatusFailed || failed.Error == nil || failed.Error.Code != "Broke" {
		t.Fatalf("failed operation after reload: %+v", failed)
	}
	w = do(e2, "GET", "/subscriptions/s/providers/Test.X/locations/westeurope/operations/"+failed.ID, "")
	if !strings.Contains(w.Body.String(), `"code":"Broke"`) || !strings.Contains(w.Body.String(), `"status":"Failed"`) {
		t.Fatalf("operation status after reload: %s", w.Body)
	}
	w = do(e2, "GET", "/subscriptions/s/resourceGroups/rg/providers/Test.X/things/b", "")
	if !strings.Contains(w.Body.String(), `"provisioningState":"Succeeded"`) {
		t.Fatalf("b after reload: %s", w.Body)
	}
}
