package emulator

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
)

// The HTML pages of the emulator's Entra ID sign-in: minimal forms a person can use in a
// browser and a test can post to directly.

const pageStyle = `body{font-family:sans-serif;max-width:28em;margin:3em auto}label{display:block;margin:.8em 0}
input{display:block;width:100%;padding:.3em}#error{color:#a4262c}button{margin:.8em .5em 0 0;padding:.4em 1.2em}`

var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · strata emulator</title><style>` + pageStyle + `</style></head><body>
<h1>{{.Title}}</h1>
{{if .App}}<p>to <b>{{.App}}</b> in tenant {{.Tenant}}</p>{{end}}
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}{{end}}

{{define "signin"}}{{template "head" .}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Username <input name="username" value="{{.Username}}" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>{{end}}

{{define "device"}}{{template "head" .}}
<form method="post" action="{{.Action}}">
<label>Code <input name="user_code" value="{{.UserCode}}" autocomplete="off" required></label>
<label>Username <input name="username" value="{{.Username}}" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" name="action" value="approve">Sign in</button>
<button type="submit" name="action" value="decline" formnovalidate>Cancel</button>
</form></body></html>{{end}}

{{define "message"}}{{template "head" .}}
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
</body></html>{{end}}
`))

// hiddenField is a parameter the sign-in form posts again.
type hiddenField struct{ Name, Value string }

// pageData is what the pages show.
type pageData struct {
	Title, App, Tenant, Error, Message string
	Action, Username, UserCode         string
	Hidden                             []hiddenField
}

// hiddenFields are the request's parameters but the credentials, sorted.
func hiddenFields(f url.Values) []hiddenField {
	var out []hiddenField
	for k, vs := range f {
		if k == "username" || k == "password" || k == "action" {
			continue
		}
		for _, v := range vs {
			out = append(out, hiddenField{k, v})
		}
	}
	slices.SortStableFunc(out, func(a, b hiddenField) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// writePage renders a page with a status. A page never goes in a frame, loads nothing and is
// never cached (it may show a user name).
func (em *Emulator) writePage(w http.ResponseWriter, status int, name string, d pageData) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, d); err != nil {
		em.log.Error("rendering a sign-in page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// writeErrorPage answers a sign-in error that cannot go back to the client (an unknown
// tenant, client or redirect URI) as Entra ID does: a page that shows it.
func (em *Emulator) writeErrorPage(w http.ResponseWriter, e *entraError) {
	em.writePage(w, e.status, "message", pageData{Title: "Sorry, but we’re having trouble signing you in.", Error: e.message()})
}

// message is the error as Entra ID shows it: "AADSTS<code>: <description>".
func (e *entraError) message() string { return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.desc) }
