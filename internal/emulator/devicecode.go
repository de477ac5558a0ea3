package emulator

import (
	"fmt"
	"net/http"
	"time"
)

// deviceAuthorization serves POST /{tenant}/oauth2/v2.0/devicecode (client_id, scope): a
// device code for the client to poll the token endpoint with, and a user code for the user
// to enter at the verification URI, /{tenant}/oauth2/deviceauth.
func (em *Emulator) deviceAuthorization(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		writeEntraError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeEntraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be form-encoded.")
		return
	}
	app, eerr := em.publicClient(r, tenant)
	if eerr == nil {
		var scope scopeGrant
		if scope, eerr = em.parseScope(tenant, r.PostForm.Get("scope")); eerr == nil {
			em.issueDeviceCode(w, r, tenant, userGrant{tenant: tenant, clientID: app.ClientID, scope: scope})
			return
		}
	}
	writeEntraError(w, eerr.status, eerr.code, eerr.aadsts, eerr.desc)
}

// issueDeviceCode answers a device authorization request with a new device code.
func (em *Emulator) issueDeviceCode(w http.ResponseWriter, r *http.Request, tenant string, g userGrant) {
	now := time.Now()
	o := em.opts.Entra
	d := &deviceCode{userGrant: g, expires: now.Add(o.DeviceCodeLifetime), interval: o.DeviceCodeInterval}
	code := em.signins.addDevice(d, now)
	uri := "https://" + r.Host + "/" + tenant + "/oauth2/deviceauth"
	writeTokenResponse(w, map[string]any{
		"device_code":      code,
		"user_code":        d.userCode,
		"verification_uri": uri,
		"expires_in":       int(o.DeviceCodeLifetime.Seconds()),
		"interval":         int(o.DeviceCodeInterval.Seconds()),
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", uri, d.userCode),
	})
}

// deviceAuth serves the verification page /{tenant}/oauth2/deviceauth: GET shows the form
// (user code, username, password); POST (the form, or a test) approves the request of the
// user code for the user, or declines it with action=decline (no credentials needed).
func (em *Emulator) deviceAuth(w http.ResponseWriter, r *http.Request, tenant string) {
	page := pageData{Title: "Enter code", Tenant: tenant, Action: r.URL.Path}
	fail := func(e *entraError) {
		page.Error = e.message()
		em.writePage(w, e.status, "device", page)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		fail(&entraError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET and POST requests."})
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(&entraError{http.StatusBadRequest, "invalid_request", 90004, "The request is not properly formatted."})
		return
	}
	page.UserCode, page.Username = r.Form.Get("user_code"), r.PostForm.Get("username")
	if r.Method == http.MethodGet {
		em.writePage(w, http.StatusOK, "device", page)
		return
	}
	d, ok := em.signins.deviceByUserCode(tenant, page.UserCode)
	if !ok {
		fail(&entraError{http.StatusBadRequest, "invalid_request", 70018, "Invalid verification code due to User typing in wrong user code for device code flow. Authorization is not approved."})
		return
	}
	app, _ := em.application(tenant, d.clientID)
	page.App = app.DisplayName
	approve := r.PostForm.Get("action") != "decline"
	userID := ""
	if approve {
		u, eerr := em.checkCredentials(tenant, app, page.Username, r.PostForm.Get("password"))
		if eerr != nil {
			em.log.Debug("device sign-in refused", "tenant", tenant, "client", app.ClientID, "error", eerr.code, "aadsts", eerr.aadsts)
			fail(eerr)
			return
		}
		userID = u.ID
	}
	if eerr := em.signins.decideDevice(d, userID, approve, time.Now()); eerr != nil {
		fail(eerr)
		return
	}
	page.Title, page.Message = "You have signed in", "You have signed in to the application on your device. You may now close this window."
	if !approve {
		page.Title, page.Message = "Sign-in canceled", "You have declined to sign in to the application on your device. You may now close this window."
	}
	em.writePage(w, http.StatusOK, "message", page)
}
