package emulator

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// The directory of the emulator's Entra ID: the users who sign in, their groups and the
// applications (public clients) they sign in to. It is kept in state.json; a user's password
// only as a salted PBKDF2 hash.

// ErrEntraNotFound is returned (wrapped) for a user, group or application that does not exist.
var ErrEntraNotFound = errors.New("not found")

// ErrEntraConflict is returned (wrapped) for a user or application that exists already.
var ErrEntraConflict = errors.New("already exists")

// EntraUser is a user of the emulator's Entra ID, as the admin API shows it (never with its
// password).
type EntraUser struct {
	// ID is the user's object ID (a GUID, generated): the oid of its tokens.
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	// UserPrincipalName is the sign-in name (user@domain), unique in the tenant in any case.
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// EntraGroup is a group of users; its ID is in the groups claim of its members' tokens.
type EntraGroup struct {
	ID          string   `json:"id"`
	TenantID    string   `json:"tenantId"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"`
}

// EntraApplication is an app registration of a public client: users sign in to it with the
// authorization code flow (to one of its redirect URIs) or the device code flow. Its client
// ID also names a resource: scopes api://{clientId}/... or {clientId}/... ask for a token for it.
type EntraApplication struct {
	ClientID     string   `json:"clientId"`
	TenantID     string   `json:"tenantId"`
	DisplayName  string   `json:"displayName"`
	RedirectURIs []string `json:"redirectUris"`
}

// storedUser is a user with its password hash, as state.json keeps it.
type storedUser struct {
	EntraUser
	PasswordHash string `json:"passwordHash"`
}

// savedDirectory is the directory in state.json.
type savedDirectory struct {
	Users        []storedUser       `json:"users,omitempty"`
	Groups       []EntraGroup       `json:"groups,omitempty"`
	Applications []EntraApplication `json:"applications,omitempty"`
}

// directory holds the users, groups and applications.
type directory struct {
	mu     sync.RWMutex
	users  []storedUser
	groups []EntraGroup
	apps   []EntraApplication
}

func (d *directory) restore(s *savedDirectory) {
	if s == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users, d.groups, d.apps = s.Users, s.Groups, s.Applications
}

func (d *directory) snapshot() *savedDirectory {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if len(d.users)+len(d.groups)+len(d.apps) == 0 {
		return nil
	}
	s := &savedDirectory{Users: slices.Clone(d.users), Applications: slices.Clone(d.apps)}
	for _, g := range d.groups {
		g.Members = slices.Clone(g.Members)
		s.Groups = append(s.Groups, g)
	}
	return s
}

// hasTenant reports whether a user, group or application belongs to the tenant.
func (d *directory) hasTenant(tenant string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.ContainsFunc(d.users, func(u storedUser) bool { return strings.EqualFold(u.TenantID, tenant) }) ||
		slices.ContainsFunc(d.groups, func(g EntraGroup) bool { return strings.EqualFold(g.TenantID, tenant) }) ||
		slices.ContainsFunc(d.apps, func(a EntraApplication) bool { return strings.EqualFold(a.TenantID, tenant) })
}

// tenantOrDefault returns the tenant (lower-cased), or the emulator's default tenant.
func (em *Emulator) tenantOrDefault(tenant string) string {
	if tenant == "" {
		tenant = em.TenantID()
	}
	return strings.ToLower(tenant)
}

// AddEntraUser adds a user with a generated ID (to the default tenant when TenantID is empty;
// DisplayName defaults to the name before '@') and returns it.
func (em *Emulator) AddEntraUser(u EntraUser, password string) (EntraUser, error) {
	u.TenantID = em.tenantOrDefault(u.TenantID)
	u.UserPrincipalName = strings.TrimSpace(u.UserPrincipalName)
	name, domain, ok := strings.Cut(u.UserPrincipalName, "@")
	switch {
	case !ok || name == "" || domain == "" || strings.ContainsAny(u.UserPrincipalName, " \t\r\n"):
		return EntraUser{}, fmt.Errorf("userPrincipalName %q: want user@domain", u.UserPrincipalName)
	case password == "":
		return EntraUser{}, errors.New("password: required")
	}
	if u.DisplayName == "" {
		u.DisplayName = name
	}
	u.ID = uuid.NewString()
	hash, err := hashPassword(password)
	if err != nil {
		return EntraUser{}, err
	}
	em.dir.mu.Lock()
	if _, taken := em.dir.userByUPN(u.TenantID, u.UserPrincipalName); taken {
		em.dir.mu.Unlock()
		return EntraUser{}, fmt.Errorf("user %s in tenant %s: %w", u.UserPrincipalName, u.TenantID, ErrEntraConflict)
	}
	em.dir.users = append(em.dir.users, storedUser{EntraUser: u, PasswordHash: hash})
	em.dir.mu.Unlock()
	em.scheduleSave()
	return u, nil
}

// EntraUsers returns the users of a tenant ("" for every tenant), without their passwords.
func (em *Emulator) EntraUsers(tenant string) []EntraUser {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	out := []EntraUser{}
	for _, u := range em.dir.users {
		if tenant == "" || strings.EqualFold(u.TenantID, tenant) {
			out = append(out, u.EntraUser)
		}
	}
	return out
}

// DeleteEntraUser removes a user, and removes it from its groups.
func (em *Emulator) DeleteEntraUser(id string) error {
	em.dir.mu.Lock()
	n := len(em.dir.users)
	em.dir.users = slices.DeleteFunc(em.dir.users, func(u storedUser) bool { return strings.EqualFold(u.ID, id) })
	found := len(em.dir.users) != n
	for i := range em.dir.groups {
		em.dir.groups[i].Members = slices.DeleteFunc(em.dir.groups[i].Members, func(m string) bool { return strings.EqualFold(m, id) })
	}
	em.dir.mu.Unlock()
	if !found {
		return fmt.Errorf("user %s: %w", id, ErrEntraNotFound)
	}
	em.scheduleSave()
	return nil
}

// AddEntraGroup adds a group with a generated ID (to the default tenant when TenantID is
// empty); its members must be users of its tenant.
func (em *Emulator) AddEntraGroup(g EntraGroup) (EntraGroup, error) {
	g.TenantID = em.tenantOrDefault(g.TenantID)
	if strings.TrimSpace(g.DisplayName) == "" {
		return EntraGroup{}, errors.New("displayName: required")
	}
	g.ID = uuid.NewString()
	em.dir.mu.Lock()
	members := []string{}
	for _, m := range g.Members {
		u, ok := em.dir.userByID(m)
		if !ok || !strings.EqualFold(u.TenantID, g.TenantID) {
			em.dir.mu.Unlock()
			return EntraGroup{}, fmt.Errorf("member %s: no such user in tenant %s: %w", m, g.TenantID, ErrEntraNotFound)
		}
		if !slices.Contains(members, u.ID) {
			members = append(members, u.ID)
		}
	}
	g.Members = members
	em.dir.groups = append(em.dir.groups, g)
	em.dir.mu.Unlock()
	em.scheduleSave()
	return g, nil
}

// EntraGroups returns the groups of a tenant ("" for every tenant).
func (em *Emulator) EntraGroups(tenant string) []EntraGroup {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	out := []EntraGroup{}
	for _, g := range em.dir.groups {
		if tenant == "" || strings.EqualFold(g.TenantID, tenant) {
			g.Members = slices.Clone(g.Members)
			out = append(out, g)
		}
	}
	return out
}

// DeleteEntraGroup removes a group.
func (em *Emulator) DeleteEntraGroup(id string) error {
	em.dir.mu.Lock()
	n := len(em.dir.groups)
	em.dir.groups = slices.DeleteFunc(em.dir.groups, func(g EntraGroup) bool { return strings.EqualFold(g.ID, id) })
	found := len(em.dir.groups) != n
	em.dir.mu.Unlock()
	if !found {
		return fmt.Errorf("group %s: %w", id, ErrEntraNotFound)
	}
	em.scheduleSave()
	return nil
}

// SetEntraGroupMember adds a user of the group's tenant to a group (member true) or removes
// it (false), and returns the group.
func (em *Emulator) SetEntraGroupMember(groupID, userID string, member bool) (EntraGroup, error) {
	em.dir.mu.Lock()
	i := slices.IndexFunc(em.dir.groups, func(g EntraGroup) bool { return strings.EqualFold(g.ID, groupID) })
	if i < 0 {
		em.dir.mu.Unlock()
		return EntraGroup{}, fmt.Errorf("group %s: %w", groupID, ErrEntraNotFound)
	}
	g := &em.dir.groups[i]
	u, ok := em.dir.userByID(userID)
	if !ok || !strings.EqualFold(u.TenantID, g.TenantID) {
		em.dir.mu.Unlock()
		return EntraGroup{}, fmt.Errorf("user %s in tenant %s: %w", userID, g.TenantID, ErrEntraNotFound)
	}
	g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return strings.EqualFold(m, u.ID) })
	if member {
		g.Members = append(g.Members, u.ID)
	}
	out := *g
	out.Members = slices.Clone(g.Members)
	em.dir.mu.Unlock()
	em.scheduleSave()
	return out, nil
}

// AddEntraApplication registers a public client (in the default tenant when TenantID is
// empty; with a generated client ID when ClientID is empty). Its redirect URIs must be
// absolute; http only on a loopback host (localhost, 127.0.0.1, [::1]).
func (em *Emulator) AddEntraApplication(a EntraApplication) (EntraApplication, error) {
	a.TenantID = em.tenantOrDefault(a.TenantID)
	if a.ClientID == "" {
		a.ClientID = uuid.NewString()
	}
	a.ClientID = strings.ToLower(strings.TrimSpace(a.ClientID))
	if a.DisplayName == "" {
		a.DisplayName = a.ClientID
	}
	a.RedirectURIs = slices.Clone(a.RedirectURIs)
	if a.RedirectURIs == nil {
		a.RedirectURIs = []string{}
	}
	for _, ru := range a.RedirectURIs {
		if err := checkRedirectURI(ru); err != nil {
			return EntraApplication{}, err
		}
	}
	em.dir.mu.Lock()
	if slices.ContainsFunc(em.dir.apps, func(o EntraApplication) bool { return strings.EqualFold(o.ClientID, a.ClientID) }) {
		em.dir.mu.Unlock()
		return EntraApplication{}, fmt.Errorf("application %s: %w", a.ClientID, ErrEntraConflict)
	}
	em.dir.apps = append(em.dir.apps, a)
	em.dir.mu.Unlock()
	em.scheduleSave()
	return a, nil
}

// EntraApplications returns the applications of a tenant ("" for every tenant).
func (em *Emulator) EntraApplications(tenant string) []EntraApplication {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	out := []EntraApplication{}
	for _, a := range em.dir.apps {
		if tenant == "" || strings.EqualFold(a.TenantID, tenant) {
			a.RedirectURIs = slices.Clone(a.RedirectURIs)
			out = append(out, a)
		}
	}
	return out
}

// DeleteEntraApplication removes an application.
func (em *Emulator) DeleteEntraApplication(clientID string) error {
	em.dir.mu.Lock()
	n := len(em.dir.apps)
	em.dir.apps = slices.DeleteFunc(em.dir.apps, func(a EntraApplication) bool { return strings.EqualFold(a.ClientID, clientID) })
	found := len(em.dir.apps) != n
	em.dir.mu.Unlock()
	if !found {
		return fmt.Errorf("application %s: %w", clientID, ErrEntraNotFound)
	}
	em.scheduleSave()
	return nil
}

// userByUPN finds a user by sign-in name in a tenant; the caller holds mu.
func (d *directory) userByUPN(tenant, upn string) (storedUser, bool) {
	for _, u := range d.users {
		if strings.EqualFold(u.TenantID, tenant) && strings.EqualFold(u.UserPrincipalName, upn) {
			return u, true
		}
	}
	return storedUser{}, false
}

// userByID finds a user by object ID; the caller holds mu.
func (d *directory) userByID(id string) (storedUser, bool) {
	for _, u := range d.users {
		if strings.EqualFold(u.ID, id) {
			return u, true
		}
	}
	return storedUser{}, false
}

// user returns a user by object ID.
func (em *Emulator) user(id string) (storedUser, bool) {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	return em.dir.userByID(id)
}

// userNamed returns the user of a tenant with a sign-in name, and whether a user of that name
// exists in another tenant (its tenant then).
func (em *Emulator) userNamed(tenant, upn string) (u storedUser, ok bool, elsewhere string) {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	if u, ok := em.dir.userByUPN(tenant, upn); ok {
		return u, true, ""
	}
	for _, o := range em.dir.users {
		if strings.EqualFold(o.UserPrincipalName, upn) {
			return storedUser{}, false, o.TenantID
		}
	}
	return storedUser{}, false, ""
}

// groupsOf returns the IDs of the groups a user is a member of.
func (em *Emulator) groupsOf(userID string) []string {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	var out []string
	for _, g := range em.dir.groups {
		if slices.ContainsFunc(g.Members, func(m string) bool { return strings.EqualFold(m, userID) }) {
			out = append(out, g.ID)
		}
	}
	return out
}

// application returns the application of a client ID in a tenant.
func (em *Emulator) application(tenant, clientID string) (EntraApplication, bool) {
	em.dir.mu.RLock()
	defer em.dir.mu.RUnlock()
	for _, a := range em.dir.apps {
		if strings.EqualFold(a.TenantID, tenant) && strings.EqualFold(a.ClientID, clientID) {
			return a, true
		}
	}
	return EntraApplication{}, false
}

// checkRedirectURI checks a redirect URI as Entra ID does when it is registered: absolute,
// without a fragment, http only on a loopback host.
func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("redirect URI %q: %w", s, err)
	case !u.IsAbs() || u.Fragment != "":
		return fmt.Errorf("redirect URI %q: want an absolute URI without a fragment", s)
	case strings.EqualFold(u.Scheme, "http") && !isLoopback(u.Hostname()):
		return fmt.Errorf("redirect URI %q: http is allowed only for localhost, 127.0.0.1 and [::1]", s)
	case (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) && u.Host == "":
		return fmt.Errorf("redirect URI %q: no host", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirectMatches reports whether a redirect URI of a request is the registered one: the
// same string, or, for an http loopback URI, the same but for the port (Entra ID ignores the
// port of loopback redirect URIs, RFC 8252 §7.3).
func redirectMatches(registered, given string) bool {
	if registered == given {
		return true
	}
	r, err1 := url.Parse(registered)
	g, err2 := url.Parse(given)
	if err1 != nil || err2 != nil || !strings.EqualFold(r.Scheme, "http") || !strings.EqualFold(g.Scheme, "http") {
		return false
	}
	return isLoopback(r.Hostname()) && strings.EqualFold(r.Hostname(), g.Hostname()) &&
		r.EscapedPath() == g.EscapedPath() && r.RawQuery == g.RawQuery && g.Fragment == ""
}

// Passwords are kept as PBKDF2-SHA256 hashes: "pbkdf2-sha256$<iterations>$<salt>$<hash>".
const pbkdf2Iterations = 20_000

func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", pbkdf2Iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// passwordMatches reports whether a password is the one hashed.
func passwordMatches(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	var iter int
	if _, err := fmt.Sscanf(parts[1], "%d", &iter); err != nil || iter < 1 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
