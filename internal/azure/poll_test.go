package azure

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

func answer(header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", nil, 0},
		{"milliseconds first", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"3"}}, 250 * time.Millisecond},
		{"x-ms milliseconds", http.Header{"X-Ms-Retry-After-Ms": {"40"}, "Retry-After": {"3"}}, 40 * time.Millisecond},
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"date in the past", http.Header{"Retry-After": {"Mon, 02 Jan 2006 15:04:05 GMT"}}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(answer(tt.header, "")); got != tt.want {
			t.Errorf("%s: retryAfter = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := retryAfter(answer(http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}, "")); got < 59*time.Minute || got > time.Hour {
		t.Errorf("date an hour ahead: retryAfter = %v", got)
	}
}

func TestTimeLeft(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		elapsed time.Duration
		want    time.Duration
	}{
		// 24 % may be up to 25 % done: after 1 s, at least 3 s are left.
		{"a quarter done", `{"status":"InProgress","percentComplete":24}`, time.Second, 3 * time.Second},
		// Less than 1 % after 10 ms: at least 990 ms are left.
		{"just started", `{"status":"InProgress","percentComplete":0}`, 10 * time.Millisecond, 990 * time.Millisecond},
		{"almost done", `{"status":"InProgress","percentComplete":99}`, time.Second, 0},
		{"no percentage", `{"status":"InProgress"}`, time.Second, 0},
		{"not JSON", `<html/>`, time.Second, 0},
		{"negative", `{"percentComplete":-5}`, time.Second, 0},
		{"unknown start", `{"percentComplete":50}`, 0, 0},
	}
	for _, tt := range tests {
		if got := timeLeft(answer(nil, tt.body), tt.elapsed); got != tt.want {
			t.Errorf("%s: timeLeft = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestOpDurationsSchedule(t *testing.T) {
	var d opDurations
	start := time.Now()
	if s := d.schedule("VirtualMachine create", start, false); s.first != 0 || s.start != start {
		t.Fatalf("no history: first poll after %v (start %v), want at once", s.first, s.start)
	}
	for _, took := range []time.Duration{45 * time.Second, 40 * time.Second, 50 * time.Second} {
		d.record("VirtualMachine create", took)
	}
	if s := d.schedule("VirtualMachine create", start, false); s.first != 36*time.Second {
		t.Errorf("first poll after %v, want 36s (0.9 x the quickest of 40s)", s.first)
	}
	if got := d.typical("VirtualMachine create"); got != 45*time.Second {
		t.Errorf("typical duration %v, want the median 45s", got)
	}
	if got := d.typical("VirtualMachine delete"); got != 0 {
		t.Errorf("typical duration of a kind never seen %v, want 0", got)
	}
	if s := d.schedule("VirtualMachine delete", start, false); s.first != 0 {
		t.Errorf("another kind: first poll after %v, want at once", s.first)
	}
	if s := d.schedule("VirtualMachine create", start, true); s.first != 0 || !s.start.IsZero() {
		t.Errorf("resumed: first poll after %v, start %v; want at once and unknown", s.first, s.start)
	}
	// Only the recent durations count.
	for range durationSamples {
		d.record("Image create", 10*time.Second)
	}
	d.record("Image create", time.Second)
	for range durationSamples {
		d.record("Image create", 10*time.Second)
	}
	if s := d.schedule("Image create", start, false); s.first != 9*time.Second {
		t.Errorf("after the quick one aged out: first poll after %v, want 9s", s.first)
	}
	// done records the time since start.
	s := d.schedule("Disk create", time.Now().Add(-2*time.Second), false)
	s.finished()
	if s := d.schedule("Disk create", start, false); s.first < 1800*time.Millisecond || s.first > 1900*time.Millisecond {
		t.Errorf("after one 2 s disk: first poll after %v, want 0.9 x 2s", s.first)
	}
}

func TestCopyEstimator(t *testing.T) {
	t0 := time.Now()
	var e copyEstimator
	// Nothing known yet: the first waits double from minCopyPoll.
	if got := e.next(t0, "", time.Second); got != minCopyPoll {
		t.Errorf("no progress: %v, want %v", got, minCopyPoll)
	}
	if got := e.next(t0, "0/1000", time.Second); got != 2*minCopyPoll {
		t.Errorf("first progress seen: %v, want %v", got, 2*minCopyPoll)
	}
	// 100 bytes of 1000 in 100 ms: 900 ms left.
	if got := e.next(t0.Add(100*time.Millisecond), "100/1000", 2*time.Second); got != 900*time.Millisecond {
		t.Errorf("a tenth copied: %v, want 900ms", got)
	}
	// Capped by maxWait, and never below minCopyPoll.
	if got := e.next(t0.Add(100*time.Millisecond), "100/1000", 500*time.Millisecond); got != 500*time.Millisecond {
		t.Errorf("capped: %v, want 500ms", got)
	}
	if got := e.next(t0.Add(time.Second), "999/1000", time.Second); got != minCopyPoll {
		t.Errorf("nearly done: %v, want %v", got, minCopyPoll)
	}
	for _, bad := range []string{"1000", "a/b", "5/0", "7/5", "-1/5"} {
		if _, _, ok := parseCopyProgress(bad); ok {
			t.Errorf("parseCopyProgress(%q) accepted", bad)
		}
	}
}

// TestLearnedPollsAreFewer creates network security groups with the realistic latency model
// on, three with fresh clients each (nothing learned: polled as Azure's Retry-After and the
// operation's progress say) and three more with one set of clients that learns the duration
// from the first: those, whose first poll waits for the known duration, need fewer polls.
func TestLearnedPollsAreFewer(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	ctx := testCtx(t)
	env.Emulator.Engine().Latency().SetProfile(arm.LatencyRealistic, 0.3) // 900 ms each
	defer env.Emulator.Engine().Latency().SetProfile(arm.LatencyZero, 1)
	const polls = "GET Microsoft.Network/locations/operations"
	create := func(c *Clients, i int) int {
		before := c.Requests()[polls]
		n := &plan.Node{Key: "nsg", Kind: plan.KindNetworkSecurityGroup, Managed: true,
			ID:   fmt.Sprintf("%s/providers/Microsoft.Network/networkSecurityGroups/nsg-%d", rgID, i),
			Spec: &armnetwork.SecurityGroup{Location: to.Ptr("westeurope")}}
		if r, err := c.Applier().Apply(ctx, n, &memInventory{}); err != nil || !r.Wrote {
			t.Fatalf("create nsg-%d: %+v, %v", i, r, err)
		}
		return c.Requests()[polls] - before
	}
	var cold, learned []int
	for i := range 3 {
		cold = append(cold, create(newClients(t, env), i))
	}
	warm := newClients(t, env)
	create(warm, 3) // teaches the duration
	for i := range 3 {
		learned = append(learned, create(warm, 4+i))
	}
	t.Logf("polls per create: nothing learned %v, duration learned %v", cold, learned)
	sum := func(s []int) (n int) {
		for _, v := range s {
			n += v
		}
		return n
	}
	if sum(cold) < 6 {
		t.Errorf("creates with nothing learned were polled %v times; the test wants Azure to answer InProgress more", cold)
	}
	if sum(learned) >= sum(cold) {
		t.Errorf("creates with the duration learned were polled %v times, with nothing learned %v: want fewer", learned, cold)
	}
}

// TestBlobRequestsSpendNoARMBudget checks that the blob data plane goes through the request
// counter but not through the subscription's ARM rate limiter, which ARM requests do.
func TestBlobRequestsSpendNoARMBudget(t *testing.T) {
	env := emulatortest.Start(t)
	c := newClients(t, env)
	limited := func(ps []policy.Policy) (limit, count bool) {
		for _, p := range ps {
			switch p.(type) {
			case *limitPolicy:
				limit = true
			case *countPolicy:
				count = true
			}
		}
		return limit, count
	}
	if limit, count := limited(c.armOpts.PerCallPolicies); !limit || !count {
		t.Errorf("ARM clients: rate limited %v, counted %v; want both", limit, count)
	}
	if limit, count := limited(c.blobOpts.PerCallPolicies); limit || !count {
		t.Errorf("blob clients: rate limited %v, counted %v; want counted only", limit, count)
	}
}

// TestNoFinalGetAfterSucceededOperation checks that a create whose operation status says
// Succeeded is not followed by the SDK's final GET of the resource (nor preceded by one: the
// group's list showed it absent), and that an operation that ends Failed still gives Azure's
// error.
func TestNoFinalGetAfterSucceededOperation(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	ctx := testCtx(t)
	env.Emulator.Engine().Latency().SetProfile(arm.LatencyRealistic, 0.1) // asynchronous
	defer env.Emulator.Engine().Latency().SetProfile(arm.LatencyZero, 1)
	const reads = "GET Microsoft.Network/networkSecurityGroups"
	c := newClients(t, env)
	nsg := func(name string) *plan.Node {
		return &plan.Node{Key: "nsg", Kind: plan.KindNetworkSecurityGroup, Managed: true,
			ID:   rgID + "/providers/Microsoft.Network/networkSecurityGroups/" + name,
			Spec: &armnetwork.SecurityGroup{Location: to.Ptr("westeurope")}}
	}
	before := c.Requests()[reads]
	if r, err := c.Applier().Apply(ctx, nsg("ok"), &memInventory{}); err != nil || !r.Wrote {
		t.Fatalf("create: %+v, %v", r, err)
	}
	if n := c.Requests()[reads] - before; n != 0 {
		t.Errorf("%d GETs of the NSG for its create, want 0", n)
	}
	if err := env.Emulator.Engine().AddFaults(arm.FaultRule{Kind: arm.FaultLROFailed, Type: "Microsoft.Network/networkSecurityGroups", Rate: 1, Count: 1, Code: "Broke"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Applier().Apply(ctx, nsg("broken"), &memInventory{})
	if err == nil || !strings.Contains(err.Error(), "Broke") {
		t.Errorf("a failed operation gave %v, want Azure's error code Broke", err)
	}
}
