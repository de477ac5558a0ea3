package server

import "net/http"

// WhoAmIPath answers who the caller is: GET, with the caller's credentials.
const WhoAmIPath = APIPath + "/whoami"

// WhoAmI is the answer of WhoAmIPath.
type WhoAmI struct {
	// AccessControl is false on a server that authenticates nobody.
	AccessControl bool `json:"accessControl"`
	// User is the principal the credentials authenticate.
	User string `json:"user,omitempty"`
	// Teams are the teams the user belongs to.
	Teams []string `json:"teams,omitempty"`
	// Bindings are the role bindings that grant the user something, directly or by a team.
	Bindings []string `json:"bindings,omitempty"`
}

// whoAmI answers GET /api/v1alpha1/whoami: who the credentials authenticate. Every
// authenticated caller may ask; without access control the answer says so.
func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	if err := checkRequestText("", r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	r, ok := s.authenticated(w, r)
	if !ok {
		return
	}
	g := guardOf(r.Context())
	if g == nil {
		s.writeJSON(w, r, http.StatusOK, WhoAmI{})
		return
	}
	s.writeJSON(w, r, http.StatusOK, WhoAmI{AccessControl: true, User: g.who.Name, Teams: g.who.Teams, Bindings: g.policy.BindingsOf(g.who)})
}
