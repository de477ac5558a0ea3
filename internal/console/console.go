// Package console is strata's web console: a browser app of plain JavaScript modules (no
// build step), embedded in the binary and served by the server at / from the same listener as
// the API. Everything it shows comes from the REST API, with the signed-in user's session
// cookie; the server decides what the user may see and do, as for any other client.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// AssetsPath is the URL path under which the console's files are served; the page itself is /.
const AssetsPath = "/ui/"

//go:embed assets
var embedded embed.FS

// Assets returns the console's files: index.html and what it loads.
func Assets() fs.FS {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sub
}

// ContentSecurityPolicy allows the console's pages to load and to connect only to the server
// that serves them: no inline script, no other origin, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the console: GET / is its page, GET /ui/... its files. Every answer carries
// ContentSecurityPolicy and asks browsers to check for a newer copy before using a cached one.
func Handler() http.Handler {
	assets := Assets()
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header())
		switch {
		case r.URL.Path == "/":
			http.ServeFileFS(w, r, assets, "index.html")
		case strings.HasPrefix(r.URL.Path, AssetsPath) && !strings.HasSuffix(r.URL.Path, "/"):
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(r.URL.Path, AssetsPath[:len(AssetsPath)-1])
			files.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}

// setHeaders sets the security and caching headers of the console's answers.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}
