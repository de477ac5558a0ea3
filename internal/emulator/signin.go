package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authRequest is an authorization request whose client and redirect URI are known good: its
// errors from then on go back to the redirect URI.
type authRequest struct {
	tenant       string
	app          EntraApplication
	redirectURI  string
	responseMode string
	state        string
}

// authorize serves /{tenant}/oauth2/v2.0/authorize: GET shows the sign-in form; POST (the
// form, or a test client with the same parameters and username and password in the body)
// signs the user in and redirects to the redirect URI with a code.
func (em *Emulator) authorize(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		em.writeErrorPage(w, &entraError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET and POST requests."})
		return
	}
	if err := r.ParseForm(); err != nil {
		em.writeErrorPage(w, &entraError{http.StatusBadRequest, "invalid_request", 90004, "The request is not properly formatted."})
		return
	}
	req, eerr := em.authRequestOf(r, tenant)
	if eerr != nil {
		em.writeErrorPage(w, eerr)
		return
	}
	code, eerr := em.checkAuthParams(r.Form, &req)
	if eerr != nil {
		redirectResult(w, r, req, url.Values{"error": {eerr.code}, "error_description": {eerr.message()}})
		return
	}
	page := pageData{Title: "Sign in", App: req.app.DisplayName, Tenant: tenant, Action: r.URL.Path, Hidden: hiddenFields(r.Form)}
	if r.Method == http.MethodGet {
		page.Username = r.Form.Get("login_hint")
		em.writePage(w, http.StatusOK, "signin", page)
		return
	}
	page.Username = r.PostForm.Get("username")
	u, eerr := em.checkCredentials(tenant, req.app, page.Username, r.PostForm.Get("password"))
	if eerr != nil {
		em.log.Debug("sign-in refused", "tenant", tenant, "client", req.app.ClientID, "error", eerr.code, "aadsts", eerr.aadsts)
		page.Error = eerr.message()
		em.writePage(w, eerr.status, "signin", page)
		return
	}
	code.userID = u.ID
	now := time.Now()
	code.expires = now.Add(em.opts.Entra.AuthCodeLifetime)
	redirectResult(w, r, req, url.Values{"code": {em.signins.addCode(code, now)}})
}

// authRequestOf checks what an authorization request's errors depend on, in Entra ID's
// order: the tenant, the client and its redirect URI.
func (em *Emulator) authRequestOf(r *http.Request, tenant string) (authRequest, *entraError) {
	fail := func(status int, code string, aadsts int, format string, args ...any) (authRequest, *entraError) {
		return authRequest{}, &entraError{status, code, aadsts, fmt.Sprintf(format, args...)}
	}
	f := r.Form
	if !em.knownTenant(tenant) {
		return fail(http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
	}
	clientID := f.Get("client_id")
	if clientID == "" {
		return fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	app, ok := em.application(tenant, clientID)
	if !ok {
		return fail(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	ru := f.Get("redirect_uri")
	if ru == "" {
		return fail(http.StatusBadRequest, "invalid_request", 900971, "No reply address provided.")
	}
	if !slices.ContainsFunc(app.RedirectURIs, func(reg string) bool { return redirectMatches(reg, ru) }) {
		return fail(http.StatusBadRequest, "invalid_request", 50011,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application.", ru, app.ClientID)
	}
	return authRequest{tenant: tenant, app: app, redirectURI: ru, responseMode: "query", state: f.Get("state")}, nil
}

// checkAuthParams checks the other parameters of an authorization request and returns the
// code to issue once the user signs in (without its user and expiry).
func (em *Emulator) checkAuthParams(f url.Values, req *authRequest) (*authCode, *entraError) {
	fail := func(code string, aadsts int, format string, args ...any) (*authCode, *entraError) {
		return nil, &entraError{http.StatusBadRequest, code, aadsts, fmt.Sprintf(format, args...)}
	}
	switch mode := f.Get("response_mode"); mode {
	case "", "query":
	case "fragment":
		req.responseMode = mode
	default:
		return fail("invalid_request", 70007, "The response_mode '%s' is not supported; the emulator supports query and fragment.", mode)
	}
	if rt := f.Get("response_type"); rt != "code" {
		return fail("unsupported_response_type", 70005, "The provided value for the input parameter 'response_type' is not allowed for this request. Expected value: code.")
	}
	if f.Get("prompt") == "none" {
		return fail("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
	}
	scope, eerr := em.parseScope(req.tenant, f.Get("scope"))
	if eerr != nil {
		return nil, eerr
	}
	challenge, method := f.Get("code_challenge"), f.Get("code_challenge_method")
	if method == "" {
		method = "plain"
	}
	switch {
	case challenge == "":
		return fail("invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
	case method != "S256" && method != "plain":
		return fail("invalid_request", 50149, "Invalid Code_Challenge_method parameter.")
	case len(challenge) < 43 || len(challenge) > 128:
		return fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
	}
	return &authCode{
		userGrant:   userGrant{tenant: req.tenant, clientID: req.app.ClientID, scope: scope, nonce: f.Get("nonce")},
		redirectURI: req.redirectURI, challenge: challenge, method: method,
	}, nil
}

// checkCredentials signs a user in to an application of a tenant with a password.
func (em *Emulator) checkCredentials(tenant string, app EntraApplication, upn, password string) (storedUser, *entraError) {
	fail := func(aadsts int, format string, args ...any) (storedUser, *entraError) {
		return storedUser{}, &entraError{http.StatusBadRequest, "invalid_grant", aadsts, fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(upn) == "" {
		return fail(90100, "The username is empty or not valid.")
	}
	u, ok, elsewhere := em.userNamed(tenant, strings.TrimSpace(upn))
	switch {
	case !ok && elsewhere != "":
		return fail(50020, "User account '%s' from identity provider 'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.",
			upn, elsewhere, tenant, app.ClientID, app.DisplayName)
	case !ok:
		return fail(50034, "The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.", upn, tenant)
	case !passwordMatches(u.PasswordHash, password):
		return fail(50126, "Error validating credentials due to invalid username or password.")
	}
	return u, nil
}

// redirectResult sends the browser back to the client with the result (a code or an error)
// and the state, in the query or the fragment.
func redirectResult(w http.ResponseWriter, r *http.Request, req authRequest, v url.Values) {
	if req.state != "" {
		v.Set("state", req.state)
	}
	target := req.redirectURI
	if req.responseMode == "fragment" {
		target = strings.SplitN(target, "#", 2)[0] + "#" + v.Encode()
	} else if u, err := url.Parse(target); err == nil {
		q := u.Query()
		for k, vs := range v {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		target = u.String()
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	http.Redirect(w, r, target, http.StatusFound)
}
