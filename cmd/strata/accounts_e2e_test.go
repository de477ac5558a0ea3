package main

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestGetAccountsShowsStatus: `strata apply` of cloud accounts returns without waiting for
// Azure (one account's endpoints never answer: its check is still under way when apply has
// returned), and `strata get accounts` then shows each account's VALID and SUBSCRIPTIONS, the
// valid one checked once.
func TestGetAccountsShowsStatus(t *testing.T) {
	env := emulatortest.Start(t)
	pit, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := pit.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never read, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		pit.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})

	srv := startServer(t)
	good := env.Emulator.CloudAccountYAML("good")
	hung := strings.ReplaceAll(env.Emulator.CloudAccountYAML("hung"), env.URL, "https://"+pit.Addr().String())
	if r := strata(t, srv.URL, good+"---\n"+hung, "apply", "-f", "-"); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	r := strata(t, srv.URL, "", "get", "accounts")
	if r.Code != 0 || !strings.Contains(r.Stdout, "VALID") || !strings.Contains(r.Stdout, "SUBSCRIPTIONS") {
		t.Fatalf("get accounts: %s", r)
	}
	if line := lineOf(r.Stdout, "hung"); !strings.Contains(line, "Unknown") {
		t.Errorf("the hung account was checked before apply returned, or the table does not say it is not: %q", line)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		r = strata(t, srv.URL, "", "get", "accounts")
		line := lineOf(r.Stdout, "good")
		if strings.Contains(line, "True") && strings.Contains(line, env.SubscriptionID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the valid account is not shown valid with its subscription after 30s:\n%s\nserver logs:\n%s", r.Stdout, srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("strata get accounts:\n%s", r.Stdout)
	if _, all := env.Requests(t, http.MethodGet, "subscriptions"); all != 1 {
		t.Errorf("%d GET /subscriptions at the emulator, want 1", all)
	}
}

// lineOf returns the table line of a name.
func lineOf(table, name string) string {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}
