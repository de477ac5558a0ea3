package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// TestTwoServersShareOnePostgres runs two `strata server` processes on one PostgreSQL database
// and provisions 20 small clusters (15 IaaS, 5 AKS) through one of them: the servers claim
// clusters with leases, so both work and every Azure resource is written exactly once, also
// when one of them is killed mid-work and the other takes over its clusters.
func TestTwoServersShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	_, datastore := storetest.PostgresSchema(t)
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" })

	const n = 20
	names := make([]string, n)
	clusters := map[string]string{}
	for i := range names {
		names[i] = fmt.Sprintf("ha-%02d", i)
		env.ResourceGroup(t, names[i]+"-rg")
		if isAKS(i) {
			clusters[names[i]] = aksClusterYAML(t, names[i], env.SubscriptionID, names[i]+"-rg", "aks-base", "", "")
		} else {
			clusters[names[i]] = iaasClusterYAML(t, names[i], env.SubscriptionID, names[i]+"-rg", 1, 1)
		}
	}
	basePUTs, baseAll := env.Requests(t, http.MethodPut, "")
	dir := writeManifests(t, env, clusters)

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyEnv := []string{encryptionKeyEnv + "=" + base64.StdEncoding.EncodeToString(key)}
	a := newRestartableServer(t, "server A", []string{"--data-dir", t.TempDir(), "--datastore", datastore}, keyEnv)
	b := newRestartableServer(t, "server B", []string{"--data-dir", t.TempDir(), "--datastore", datastore}, keyEnv)
	registerServer(t, b.URL, adminKeyOf(t, a.URL), b.ca) // one store: A's admin

	start := time.Now()
	if r := strata(t, a.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply through server A: %s", r)
	}
	// Once A has brought a cluster to Running and holds the lease of one still in progress, it
	// is killed: B must finish what A left, after A's leases expire.
	orphaned := stillInProgress(t, b.URL, killWhileWorking(t, a, datastore))
	t.Logf("server A killed while it worked on %v", orphaned)
	// B sees what A stored, and reads the account's secret with the shared key.
	waitRunning(t, b.URL, names, 150*time.Second, multiLogs{a.logs, b.logs})
	t.Logf("%d clusters Running after %s", n, time.Since(start).Round(100*time.Millisecond))

	ranA, ranB := runningBy(a.logs.String()), runningBy(b.logs.String())
	if len(ranA) == 0 || len(ranB) == 0 {
		t.Errorf("both servers must bring clusters to Running: A did %v, B did %v", keys(ranA), keys(ranB))
	}
	for _, name := range orphaned {
		if !ranB[name] {
			t.Errorf("cluster %s, in A's hands when A was killed, was not finished by B (B finished %v)", name, keys(ranB))
		}
	}

	byRG := rgResources(env)
	created := 0
	for i, name := range names {
		rs := byRG[name+"-rg"]
		created += written(rs)
		got, want := countByType(rs), expectedResources(2)
		if isAKS(i) {
			want = expectedAKSResources()
		}
		for typ := range mergeKeys(got, want) {
			if got[typ] != want[typ] {
				t.Errorf("cluster %s: %d %s, want %d", name, got[typ], typ, want[typ])
			}
		}
	}
	okPUTs, allPUTs := env.Requests(t, http.MethodPut, "")
	t.Logf("%d resources, %d successful ARM PUTs (%d in all)", created, okPUTs-basePUTs, allPUTs-baseAll)
	if okPUTs-basePUTs != int64(created) {
		t.Errorf("%d successful ARM PUTs for %d resources: each resource must be written exactly once", okPUTs-basePUTs, created)
	}
}

// clusterRunningLog matches the controller's log line when it brings a cluster to Running.
var clusterRunningLog = regexp.MustCompile(`msg="cluster running".* cluster=(\S+)`)

// runningBy returns the clusters that a server's log says it brought to Running.
func runningBy(logs string) map[string]bool {
	out := map[string]bool{}
	for _, m := range clusterRunningLog.FindAllStringSubmatch(logs, -1) {
		out[m[1]] = true
	}
	return out
}

// holderLog matches the holder name in the controller's start line.
var holderLog = regexp.MustCompile(`msg="controller started".* holder=(\S+)`)

// killWhileWorking waits until server s has brought a cluster to Running and holds the lease of
// a cluster that is not Running yet, kills s with SIGKILL, and returns the clusters whose leases
// it held then.
func killWhileWorking(t *testing.T, s *restartableServer, datastore string) []string {
	t.Helper()
	m := holderLog.FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("%s logged no holder:\n%s", s.name, s.logs)
	}
	holder := m[1]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, datastore)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		held := leasedClusters(t, ctx, conn, holder)
		var inProgress []string
		phases := clusterPhases(s.URL)
		for _, name := range held {
			if c, ok := phases[name]; ok && c.Status.Phase != "Running" {
				inProgress = append(inProgress, name)
			}
		}
		if len(inProgress) > 0 && len(runningBy(s.logs.String())) > 0 {
			s.kill()
			return inProgress
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never held a cluster in progress after bringing one to Running; logs:\n%s", s.name, s.logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stillInProgress returns those of names that are not Running, as the store (read through
// the server at url) has them: a cluster that A brought to Running between the last look and
// the kill is not one it left to B.
func stillInProgress(t *testing.T, url string, names []string) []string {
	t.Helper()
	phases := clusterPhases(url)
	if phases == nil {
		t.Fatalf("cannot list the clusters through %s", url)
	}
	var out []string
	for _, name := range names {
		if phases[name].Status.Phase != "Running" {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		t.Fatalf("every cluster in A's hands (%v) was Running when A was killed: none left to take over", names)
	}
	return out
}

// leasedClusters lists the clusters whose unexpired leases holder has.
func leasedClusters(t *testing.T, ctx context.Context, conn *pgx.Conn, holder string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT name FROM leases WHERE holder = $1 AND expires_at > now() AND name LIKE 'cluster/%'`, holder)
	if err != nil {
		t.Fatalf("read leases: %v", err)
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name string
		err := r.Scan(&name)
		return strings.TrimPrefix(name, "cluster/"), err
	})
	if err != nil {
		t.Fatalf("read leases: %v", err)
	}
	return names
}

// isAKS tells which of the HA test's clusters are AKS clusters: every fourth.
func isAKS(i int) bool { return i%4 == 3 }

// multiLogs prints the logs of several servers.
type multiLogs []*syncBuffer

func (m multiLogs) String() string {
	var b strings.Builder
	for i, l := range m {
		fmt.Fprintf(&b, "--- server %d:\n%s", i, l)
	}
	return b.String()
}
