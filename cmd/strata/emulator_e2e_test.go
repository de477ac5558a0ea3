package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// emulatorProcess is a running `strata emulator` and what it printed at start.
type emulatorProcess struct {
	URL, AdminToken, CAPath, Tenant, ClientID, ClientSecret string
	Output                                                  string
	client                                                  *http.Client
}

// startEmulatorProcess runs `strata emulator` on a free port with the state directory and
// the extra environment, reads what it prints until the CloudAccount, and stops it with
// SIGTERM at the end of the test or when stop is called.
func startEmulatorProcess(t *testing.T, stateDir string, env ...string) (*emulatorProcess, func()) {
	t.Helper()
	cmd := exec.Command(strataBin, "emulator", "--listen", freeAddress(t), "--state-dir", stateDir, "--latency", "zero", "--kubernetes=false")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		go func() {
			for range lines { // drain what is left
			}
		}()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the emulator exited with %v after SIGTERM; logs:\n%s", err, logs)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the emulator did not stop within 20s of SIGTERM; logs:\n%s", logs)
		}
	}
	t.Cleanup(stop)

	p := readEmulatorBanner(t, lines, logs)
	ca, err := os.ReadFile(p.CAPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return p, stop
}

// readEmulatorBanner reads what `strata emulator` prints at start, up to its CloudAccount, and
// returns the endpoints and identities it printed.
func readEmulatorBanner(t *testing.T, lines <-chan string, logs *syncBuffer) *emulatorProcess {
	t.Helper()
	p := &emulatorProcess{}
	var out strings.Builder
	field := func(line, name string) string {
		v, _ := strings.CutPrefix(strings.TrimSpace(line), name)
		return strings.TrimSpace(v)
	}
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the emulator stopped printing before its CloudAccount:\n%s\nlogs:\n%s", out.String(), logs)
			}
			out.WriteString(line + "\n")
			switch l := strings.TrimSpace(line); {
			case strings.HasPrefix(l, "strata emulator listening on "):
				p.URL = strings.TrimPrefix(l, "strata emulator listening on ")
			case strings.HasPrefix(l, "Admin token"):
				p.AdminToken = field(l, "Admin token")
			case strings.HasPrefix(l, "CA certificate"):
				p.CAPath = field(l, "CA certificate")
			case strings.HasPrefix(l, "Tenant"):
				p.Tenant = field(l, "Tenant")
			case strings.HasPrefix(l, "Client ID"):
				p.ClientID = field(l, "Client ID")
			case strings.HasPrefix(l, "Client secret"):
				p.ClientSecret = field(l, "Client secret")
			case strings.HasPrefix(l, "kind: CloudAccount"):
				done = true
			}
		case <-timeout:
			t.Fatalf("no CloudAccount printed within 30s:\n%s\nlogs:\n%s", out.String(), logs)
		}
	}
	p.Output = out.String()
	if p.AdminToken == "" {
		t.Fatalf("`strata emulator` printed no admin token:\n%s", p.Output)
	}
	return p
}

// get sends a GET with a bearer token (none when empty) and returns the status.
func (p *emulatorProcess) get(t *testing.T, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// armToken gets a Resource Manager token for the printed principal from the token endpoint.
func (p *emulatorProcess) armToken(t *testing.T) string {
	t.Helper()
	resp, err := p.client.PostForm(p.URL+"/"+p.Tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {p.ClientID}, "client_secret": {p.ClientSecret},
		"scope": {"https://management.core.windows.net//.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// TestEmulatorCommand runs `strata emulator` as a user would: the admin endpoints need the
// admin token it prints, which a restart on the same state directory keeps, as it keeps
// accepting the tokens issued before.
func TestEmulatorCommand(t *testing.T) {
	dir := t.TempDir()
	first, stop := startEmulatorProcess(t, dir)
	if !strings.Contains(first.Output, "curl --cacert "+first.CAPath+" -H 'Authorization: Bearer "+first.AdminToken+"' "+first.URL+"/_emulator/info") {
		t.Errorf("no curl example with the admin token:\n%s", first.Output)
	}
	if code := first.get(t, "/_emulator/info", ""); code != http.StatusUnauthorized {
		t.Errorf("info without the admin token: %d, want 401", code)
	}
	if code := first.get(t, "/_emulator/info", first.AdminToken); code != http.StatusOK {
		t.Errorf("info with the printed admin token: %d, want 200", code)
	}
	tok := first.armToken(t)
	if code := first.get(t, "/subscriptions?api-version=2025-04-01", tok); code != http.StatusOK {
		t.Fatalf("subscriptions with a token: %d", code)
	}
	stop()

	again, _ := startEmulatorProcess(t, dir)
	if again.AdminToken != first.AdminToken {
		t.Errorf("admin token %q after a restart, was %q", again.AdminToken, first.AdminToken)
	}
	if code := again.get(t, "/subscriptions?api-version=2025-04-01", tok); code != http.StatusOK {
		t.Errorf("the token issued before the restart: %d, want 200", code)
	}
	if code := again.get(t, "/_emulator/inventory", again.AdminToken); code != http.StatusOK {
		t.Errorf("inventory with the admin token: %d, want 200", code)
	}
}

// TestEmulatorAdminTokenEnv: STRATA_EMULATOR_ADMIN_TOKEN sets the admin token, and a bad one
// is refused before anything starts, naming the variable and the rule.
func TestEmulatorAdminTokenEnv(t *testing.T) {
	const given = "my-own-admin-token-0001"
	p, _ := startEmulatorProcess(t, t.TempDir(), adminTokenEnv+"="+given)
	if p.AdminToken != given {
		t.Errorf("printed admin token %q, want %q", p.AdminToken, given)
	}
	if code := p.get(t, "/_emulator/counters", given); code != http.StatusOK {
		t.Errorf("counters with the given token: %d, want 200", code)
	}

	cmd := exec.Command(strataBin, "emulator", "--listen", freeAddress(t), "--state-dir", t.TempDir(), "--kubernetes=false")
	cmd.Env = append(os.Environ(), adminTokenEnv+"=short")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), adminTokenEnv+": the admin token must be at least 16 characters long") {
		t.Errorf("a short admin token: %v\n%s", err, out)
	}
}
