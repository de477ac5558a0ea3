package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The sign-in flows in progress: authorization codes, device codes and refresh tokens. They
// live in memory only (a restart forgets them, as it signs every user out).

// userGrant is what a code or refresh token grants: a user's tokens for a client and scopes.
type userGrant struct {
	tenant, clientID, userID string
	scope                    scopeGrant
	nonce                    string
}

// authCode is an authorization code issued by the authorize endpoint.
type authCode struct {
	userGrant
	redirectURI       string
	challenge, method string
	expires           time.Time
	redeemed          bool
	// refreshToken is the one issued when the code was redeemed: a second redemption revokes it.
	refreshToken string
}

// deviceState is where a device code stands.
type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
	deviceRedeemed
)

// deviceCode is a device authorization request.
type deviceCode struct {
	userGrant
	userCode string
	expires  time.Time
	interval time.Duration
	// polls are the times of the last two token requests for it.
	polls [2]time.Time
	state deviceState
}

// refreshGrant is a refresh token issued with offline_access.
type refreshGrant struct {
	userGrant
	expires time.Time
}

// signins holds the flows in progress.
type signins struct {
	mu        sync.Mutex
	codes     map[string]*authCode
	devices   map[string]*deviceCode // by device code
	userCodes map[string]string      // user code -> device code
	refresh   map[string]*refreshGrant
}

// newSecretToken returns a random token of n bytes, base64url, with a prefix naming its kind.
func newSecretToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// userCodeAlphabet has no vowels (no words) and no look-alike characters (0/O, 1/I).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"

// newUserCode returns a user code of 9 characters, as Entra ID's.
func newUserCode() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// sweep forgets what expired an hour ago; the caller holds mu. Codes are kept that long so
// that a late or second redemption is told why it is refused.
func (s *signins) sweep(now time.Time) {
	for k, c := range s.codes {
		if now.After(c.expires.Add(time.Hour)) {
			delete(s.codes, k)
		}
	}
	for k, d := range s.devices {
		if now.After(d.expires.Add(time.Hour)) {
			delete(s.devices, k)
			delete(s.userCodes, d.userCode)
		}
	}
	for k, r := range s.refresh {
		if now.After(r.expires) {
			delete(s.refresh, k)
		}
	}
}

// addCode stores an authorization code and returns it.
func (s *signins) addCode(c *authCode, now time.Time) string {
	code := newSecretToken("stc.", 32)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]*authCode{}
	}
	s.sweep(now)
	s.codes[code] = c
	return code
}

// codeRedemption is a token request with an authorization code.
type codeRedemption struct {
	tenant, clientID, code, redirectURI, verifier string
}

// redeemCode checks a code as Entra ID does and marks it redeemed; a failed check leaves it
// as it was, but a second redemption revokes the refresh token the first one got.
func (s *signins) redeemCode(q codeRedemption, now time.Time) (*authCode, *entraError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[q.code]
	switch {
	case !ok:
		return nil, invalidGrant(9002313, "Invalid request. Request is malformed or invalid.")
	case !strings.EqualFold(c.tenant, q.tenant):
		return nil, invalidGrant(700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
	case !strings.EqualFold(c.clientID, q.clientID):
		return nil, invalidGrant(70000, "The provided value for the 'code' parameter is not valid. The code was issued to another client.")
	case c.redeemed:
		delete(s.refresh, c.refreshToken)
		return nil, invalidGrant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case now.After(c.expires):
		return nil, invalidGrant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case q.redirectURI != c.redirectURI:
		return nil, invalidGrant(50011, "The redirect URI '"+q.redirectURI+"' specified in the request does not match the redirect URI the authorization code was issued to.")
	case q.verifier == "":
		return nil, invalidGrant(50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
	case !pkceMatches(c.challenge, c.method, q.verifier):
		return nil, invalidGrant(501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	c.redeemed = true
	return c, nil
}

// codeIssued records the refresh token a code's redemption got.
func (s *signins) codeIssued(c *authCode, refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.refreshToken = refreshToken
}

// pkceMatches checks a code verifier against the challenge (RFC 7636 §4.6).
func pkceMatches(challenge, method, verifier string) bool {
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// addDevice stores a device authorization request and returns its device code.
func (s *signins) addDevice(d *deviceCode, now time.Time) string {
	code := newSecretToken("std.", 48)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.devices == nil {
		s.devices, s.userCodes = map[string]*deviceCode{}, map[string]string{}
	}
	s.sweep(now)
	for {
		d.userCode = newUserCode()
		if _, taken := s.userCodes[d.userCode]; !taken {
			break
		}
	}
	s.devices[code], s.userCodes[d.userCode] = d, code
	return code
}

// deviceByUserCode returns the device request of a user code in a tenant (the code in any
// case, spaces and dashes ignored).
func (s *signins) deviceByUserCode(tenant, userCode string) (*deviceCode, bool) {
	userCode = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(userCode))
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[s.userCodes[userCode]]
	if !ok || !strings.EqualFold(d.tenant, tenant) {
		return nil, false
	}
	return d, true
}

// decideDevice approves (for a user) or declines a pending device request.
func (s *signins) decideDevice(d *deviceCode, userID string, approve bool, now time.Time) *entraError {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case now.After(d.expires):
		return &entraError{http.StatusBadRequest, "expired_token", 70019, "Verification code expired. Have the user retry the sign-in."}
	case d.state != devicePending:
		return &entraError{http.StatusBadRequest, "invalid_request", 90120, "The request was already authorized or declined."}
	case approve:
		d.state, d.userID = deviceApproved, userID
	default:
		d.state = deviceDeclined
	}
	return nil
}

// pollDevice answers a token request with a device code: the grant once the user approved
// it (then the code is spent), else the error the client must act on. A client may retry
// once at once (golang.org/x/oauth2 does when it probes how to send the client ID); a third
// request within half the interval is told to slow down (half: clients' timers jitter).
func (s *signins) pollDevice(code, tenant, clientID string, now time.Time) (userGrant, *entraError) {
	fail := func(status int, code string, aadsts int, desc string) (userGrant, *entraError) {
		return userGrant{}, &entraError{status, code, aadsts, desc}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[code]
	if !ok || !strings.EqualFold(d.tenant, tenant) || !strings.EqualFold(d.clientID, clientID) {
		return fail(http.StatusBadRequest, "bad_verification_code", 70000, "The provided value for the input parameter 'device_code' is not valid.")
	}
	tooSoon := !d.polls[0].IsZero() && now.Sub(d.polls[0]) < d.interval/2
	d.polls[0], d.polls[1] = d.polls[1], now
	switch {
	case d.state == deviceRedeemed:
		return fail(http.StatusBadRequest, "invalid_grant", 54005, "The device code was already redeemed.")
	case d.state == deviceDeclined:
		return fail(http.StatusBadRequest, "authorization_declined", 65004, "The user declined the authorization request.")
	case now.After(d.expires):
		return fail(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case d.state == devicePending && tooSoon:
		return fail(http.StatusBadRequest, "slow_down", 70016, "OAuth 2.0 device flow error. Polling too fast: wait the interval between requests.")
	case d.state == devicePending:
		return fail(http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	}
	d.state = deviceRedeemed
	g := d.userGrant
	g.userID = d.userID
	return g, nil
}

// addRefresh stores a refresh token and returns it.
func (s *signins) addRefresh(g userGrant, lifetime time.Duration, now time.Time) string {
	tok := newSecretToken("str.", 48)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refresh == nil {
		s.refresh = map[string]*refreshGrant{}
	}
	s.sweep(now)
	s.refresh[tok] = &refreshGrant{userGrant: g, expires: now.Add(lifetime)}
	return tok
}

// redeemRefresh spends a refresh token (a new one comes with the new tokens, as Entra ID
// rotates them).
func (s *signins) redeemRefresh(tok, tenant, clientID string, now time.Time) (userGrant, *entraError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[tok]
	switch {
	case !ok:
		return userGrant{}, invalidGrant(9002313, "Invalid request. Request is malformed or invalid.")
	case !strings.EqualFold(r.tenant, tenant):
		return userGrant{}, invalidGrant(700005, "Provided refresh token is intended to use against other tenant, thus rejected.")
	case !strings.EqualFold(r.clientID, clientID):
		return userGrant{}, invalidGrant(70000, "The provided value for the 'refresh_token' parameter is not valid. The token was issued to another client.")
	case now.After(r.expires):
		delete(s.refresh, tok)
		return userGrant{}, invalidGrant(700082, "The refresh token has expired due to inactivity.")
	}
	delete(s.refresh, tok)
	return r.userGrant, nil
}

// invalidGrant is a 400 invalid_grant.
func invalidGrant(aadsts int, desc string) *entraError {
	return &entraError{http.StatusBadRequest, "invalid_grant", aadsts, desc}
}
