package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/strata-dev/strata/internal/atomicfile"
	"github.com/strata-dev/strata/internal/emulator/arm"
)

// adminHandler serves /_emulator/: introspection and run-time control, never on ARM paths.
// Every endpoint but healthz requires "Authorization: Bearer <admin token>" and answers 401
// without it.
//
//	GET    /_emulator/healthz      200 "ok" (no token needed: a liveness probe)
//	GET    /_emulator/info         endpoints, tenants, subscriptions, settings
//	GET    /_emulator/counters     ARM request counters by method, type and status
//	GET    /_emulator/inventory    every resource and operation (JSON)
//	POST   /_emulator/reset        forget every resource, operation and counter
//	POST   /_emulator/save         save the state now
//	GET    /_emulator/faults       the fault rules
//	POST   /_emulator/faults       add rules: a rule, a list of rules, or {"spec": "method=PUT,..."}
//	PUT    /_emulator/faults       replace the rules (a list)
//	DELETE /_emulator/faults       remove every rule
//	GET    /_emulator/throttling   {"enabled", "scale", "timeScale"}
//	PUT    /_emulator/throttling   change them (buckets refill)
//	GET    /_emulator/latency      {"profile", "scale"}
//	PUT    /_emulator/latency      change them
//	POST   /_emulator/principals   add a service principal {"tenantId","clientId","secret"}
//	GET    /_emulator/kubernetes   the clusters' control planes: {"enabled", "etcdRSSBytes", "clusters"}
//	GET    /_emulator/callers      request counters by caller product, kind (arm, token, blob) and scope
//	GET    /_emulator/networks     the caller networks {"networks": [{"source", "network"}]}
//	PUT    /_emulator/networks     replace them ({"networks": [...]}, a list, or one binding)
//	POST   /_emulator/networks     add them (a binding replaces one of the same source)
//	DELETE /_emulator/networks     remove every one
//	...    /_emulator/entra/...     Entra ID's users, groups and applications (entraAdminRoutes)
func (em *Emulator) adminHandler() http.Handler {
	outer := http.NewServeMux()
	outer.HandleFunc("GET /_emulator/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	outer.Handle("/_emulator/", em.requireAdmin(em.adminRoutes()))
	return outer
}

// adminRoutes are the admin endpoints that require the admin token.
func (em *Emulator) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/info", em.adminInfo)
	mux.HandleFunc("GET /_emulator/counters", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, map[string]any{"counters": em.engine.Counters()})
	})
	mux.HandleFunc("GET /_emulator/inventory", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, em.engine.Snapshot())
	})
	mux.HandleFunc("POST /_emulator/reset", em.adminReset)
	mux.HandleFunc("GET /_emulator/kubernetes", em.adminKubernetes)
	mux.HandleFunc("POST /_emulator/save", func(w http.ResponseWriter, _ *http.Request) {
		writeAdminDone(w, em.Save())
	})
	mux.HandleFunc("GET /_emulator/faults", em.writeFaults)
	mux.HandleFunc("POST /_emulator/faults", em.adminFaults(em.engine.AddFaults))
	mux.HandleFunc("PUT /_emulator/faults", em.adminFaults(func(rules ...arm.FaultRule) error {
		return em.engine.SetFaults(rules)
	}))
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeAdminDone(w, em.engine.SetFaults(nil))
	})
	mux.HandleFunc("GET /_emulator/throttling", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, em.engine.Throttle())
	})
	mux.HandleFunc("PUT /_emulator/throttling", em.adminSetThrottle)
	mux.HandleFunc("GET /_emulator/latency", em.writeLatency)
	mux.HandleFunc("PUT /_emulator/latency", em.adminSetLatency)
	mux.HandleFunc("POST /_emulator/principals", em.adminAddPrincipal)
	mux.HandleFunc("GET /_emulator/callers", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, map[string]any{"callers": em.Callers()})
	})
	mux.HandleFunc("GET /_emulator/networks", func(w http.ResponseWriter, _ *http.Request) {
		writeAdmin(w, http.StatusOK, map[string]any{"networks": em.Networks()})
	})
	mux.HandleFunc("PUT /_emulator/networks", em.adminNetworks(func(b ...NetworkBinding) error { return em.SetNetworks(b) }))
	mux.HandleFunc("POST /_emulator/networks", em.adminNetworks(em.AddNetworks))
	mux.HandleFunc("DELETE /_emulator/networks", func(w http.ResponseWriter, _ *http.Request) {
		writeAdminDone(w, em.SetNetworks(nil))
	})
	em.entraAdminRoutes(mux)
	return mux
}

// adminInfo serves GET /_emulator/info: the endpoints, principals (without their secrets),
// subscriptions and settings.
func (em *Emulator) adminInfo(w http.ResponseWriter, _ *http.Request) {
	type principal struct {
		TenantID string `json:"tenantId"`
		ClientID string `json:"clientId"`
	}
	var ps []principal
	for _, p := range em.Principals() {
		ps = append(ps, principal{p.TenantID, p.ClientID})
	}
	profile, scale := em.engine.Latency().Profile()
	writeAdmin(w, http.StatusOK, map[string]any{
		"url":                 em.URL(),
		"resourceManager":     em.URL(),
		"activeDirectory":     em.URL() + "/",
		"caPath":              em.CAPath(),
		"principals":          ps,
		"subscriptions":       em.engine.Subscriptions(),
		"locations":           em.engine.Locations(),
		"resourceTypes":       em.engine.ResourceTypes(),
		"latency":             map[string]any{"profile": profile, "scale": scale},
		"throttling":          em.engine.Throttle(),
		"faults":              em.engine.Faults(),
		"networks":            em.Networks(),
		"stateDir":            em.opts.StateDir,
		"managementAudience":  "https://management.core.windows.net/",
		"blobEndpointPattern": em.URL() + "/{account}/",
	})
}

// adminReset serves POST /_emulator/reset: it forgets every resource, operation, counter
// (the caller counters too) and blob; the caller networks stay.
func (em *Emulator) adminReset(w http.ResponseWriter, _ *http.Request) {
	em.engine.Reset()
	em.callers.reset()
	writeAdminDone(w, em.resetBlob())
}

// adminFaults serves a request that gives fault rules (readRules) to apply: 400 when they
// cannot be read or apply refuses them, else the rules now in force.
func (em *Emulator) adminFaults(apply func(rules ...arm.FaultRule) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rules, err := readRules(r)
		if err == nil {
			err = apply(rules...)
		}
		if err != nil {
			writeAdmin(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		em.writeFaults(w, r)
	}
}

// writeFaults answers the fault rules in force.
func (em *Emulator) writeFaults(w http.ResponseWriter, _ *http.Request) {
	writeAdmin(w, http.StatusOK, map[string]any{"faults": em.engine.Faults()})
}

// adminSetThrottle serves PUT /_emulator/throttling.
func (em *Emulator) adminSetThrottle(w http.ResponseWriter, r *http.Request) {
	o, err := readThrottle(r)
	if err != nil {
		writeAdmin(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	em.engine.SetThrottle(o)
	writeAdmin(w, http.StatusOK, em.engine.Throttle())
}

// adminSetLatency serves PUT /_emulator/latency {"profile", "scale"}.
func (em *Emulator) adminSetLatency(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Profile string  `json:"profile"`
		Scale   float64 `json:"scale"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
	if err == nil {
		in.Profile, err = arm.ParseLatency(in.Profile)
	}
	if err != nil {
		writeAdmin(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	em.engine.Latency().SetProfile(in.Profile, in.Scale)
	em.writeLatency(w, r)
}

// writeLatency answers the latency profile and scale.
func (em *Emulator) writeLatency(w http.ResponseWriter, _ *http.Request) {
	p, s := em.engine.Latency().Profile()
	writeAdmin(w, http.StatusOK, map[string]any{"profile": p, "scale": s})
}

// adminAddPrincipal serves POST /_emulator/principals {"tenantId", "clientId", "secret"}.
func (em *Emulator) adminAddPrincipal(w http.ResponseWriter, r *http.Request) {
	var sp ServicePrincipal
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&sp); err != nil || sp.TenantID == "" || sp.ClientID == "" || sp.Secret == "" {
		writeAdmin(w, http.StatusBadRequest, map[string]any{"error": "want {\"tenantId\", \"clientId\", \"secret\"}"})
		return
	}
	em.AddPrincipal(sp)
	w.WriteHeader(http.StatusNoContent)
}

// readRules reads fault rules: one rule, a list, or {"spec": "key=value,..."}.
func readRules(r *http.Request) ([]arm.FaultRule, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the rules: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if strings.HasPrefix(t, "[") {
		var rules []arm.FaultRule
		if err := json.Unmarshal(b, &rules); err != nil {
			return nil, fmt.Errorf("decoding the rules: %w", err)
		}
		return rules, nil
	}
	var spec struct {
		Spec string `json:"spec"`
	}
	if err := json.Unmarshal(b, &spec); err == nil && spec.Spec != "" {
		f, err := arm.ParseFault(spec.Spec)
		return []arm.FaultRule{f}, err
	}
	var f arm.FaultRule
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decoding the rule: %w", err)
	}
	return []arm.FaultRule{f}, nil
}

// readThrottle reads throttling options: {"enabled": bool, "scale": n, "timeScale": n}, the
// numbers at least 0.
func readThrottle(r *http.Request) (arm.ThrottleOptions, error) {
	var o arm.ThrottleOptions
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&o); err != nil {
		return o, fmt.Errorf("want {\"enabled\": bool, \"scale\": number, \"timeScale\": number}: %w", err)
	}
	switch {
	case o.Scale < 0:
		return o, fmt.Errorf("scale must be at least 0, got %v", o.Scale)
	case o.TimeScale < 0:
		return o, fmt.Errorf("timeScale must be at least 0, got %v", o.TimeScale)
	}
	return o, nil
}

// requireAdmin answers 401 to a request without the admin token, and passes on the others.
func (em *Emulator) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !adminAuthorized(r.Header.Get("Authorization"), em.adminToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="strata emulator admin"`)
			writeAdmin(w, http.StatusUnauthorized, map[string]any{
				"error": "the admin endpoints need the admin token that `strata emulator` prints: Authorization: Bearer <admin token>",
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminAuthorized reports whether an Authorization header carries the admin token as a
// bearer token (the scheme in any case), compared in constant time.
func adminAuthorized(header, token string) bool {
	scheme, given, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(given)), []byte(token)) == 1
}

// minAdminToken is the shortest admin token accepted.
const minAdminToken = 16

// CheckAdminToken checks an admin token given in Options.AdminToken: at least 16 printable
// ASCII characters, no spaces (it travels in an HTTP header).
func CheckAdminToken(tok string) error {
	if len(tok) < minAdminToken {
		return fmt.Errorf("the admin token must be at least %d characters long, got %d", minAdminToken, len(tok))
	}
	for _, c := range tok {
		if c <= ' ' || c > '~' {
			return errors.New("the admin token must be printable ASCII characters without spaces")
		}
	}
	return nil
}

// loadAdminToken returns the given admin token, or the one kept in dir (generated on first
// start; in memory when dir is empty).
func loadAdminToken(dir, given string) (string, error) {
	if given != "" {
		if err := CheckAdminToken(given); err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		return given, nil
	}
	generate := func() ([]byte, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generating the admin token: %w", err)
		}
		return []byte("strata-admin~" + hex.EncodeToString(b) + "\n"), nil
	}
	var b []byte
	var err error
	if dir == "" {
		b, err = generate()
	} else {
		path := filepath.Join(dir, adminTokenFile)
		if b, err = atomicfile.LoadOrCreate(path, generate); err == nil {
			if err = CheckAdminToken(strings.TrimSpace(string(b))); err != nil {
				err = fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return strings.TrimSpace(string(b)), err
}

// writeAdminDone answers 204 when err is nil, else 500 with the error.
func writeAdminDone(w http.ResponseWriter, err error) {
	if err != nil {
		writeAdmin(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
