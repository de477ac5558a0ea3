package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// entraAdminRoutes registers the admin endpoints of the Entra ID directory:
//
//	GET    /_emulator/entra/users[?tenantId=]                 {"users": [...]}, never a password
//	POST   /_emulator/entra/users                             {"tenantId"?, "userPrincipalName", "displayName"?, "password"} → 201 the user
//	DELETE /_emulator/entra/users/{id}                        204 (also leaves its groups)
//	GET    /_emulator/entra/groups[?tenantId=]                {"groups": [...]}
//	POST   /_emulator/entra/groups                            {"tenantId"?, "displayName", "members"?: [user ids]} → 201 the group
//	DELETE /_emulator/entra/groups/{id}                       204
//	POST   /_emulator/entra/groups/{id}/members               {"id": user id} → 200 the group
//	DELETE /_emulator/entra/groups/{id}/members/{userId}      200 the group
//	GET    /_emulator/entra/applications[?tenantId=]          {"applications": [...]}
//	POST   /_emulator/entra/applications                      {"tenantId"?, "clientId"?, "displayName"?, "redirectUris"} → 201 the application
//	DELETE /_emulator/entra/applications/{clientId}           204
//
// A tenantId left out is the emulator's default tenant. Bad input answers 400, an unknown ID
// 404, a user principal name or client ID taken 409, each with {"error"}.
func (em *Emulator) entraAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/entra/users", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, map[string]any{"users": em.EntraUsers(r.URL.Query().Get("tenantId"))})
	})
	mux.HandleFunc("POST /_emulator/entra/users", em.adminAddUser)
	mux.HandleFunc("DELETE /_emulator/entra/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeDirectoryResult(w, http.StatusNoContent, nil, em.DeleteEntraUser(r.PathValue("id")))
	})
	mux.HandleFunc("GET /_emulator/entra/groups", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, map[string]any{"groups": em.EntraGroups(r.URL.Query().Get("tenantId"))})
	})
	mux.HandleFunc("POST /_emulator/entra/groups", func(w http.ResponseWriter, r *http.Request) {
		var g EntraGroup
		if !readAdminJSON(w, r, &g) {
			return
		}
		g, err := em.AddEntraGroup(g)
		writeDirectoryResult(w, http.StatusCreated, g, err)
	})
	mux.HandleFunc("DELETE /_emulator/entra/groups/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeDirectoryResult(w, http.StatusNoContent, nil, em.DeleteEntraGroup(r.PathValue("id")))
	})
	mux.HandleFunc("POST /_emulator/entra/groups/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ID string `json:"id"`
		}
		if !readAdminJSON(w, r, &m) {
			return
		}
		g, err := em.SetEntraGroupMember(r.PathValue("id"), m.ID, true)
		writeDirectoryResult(w, http.StatusOK, g, err)
	})
	mux.HandleFunc("DELETE /_emulator/entra/groups/{id}/members/{userId}", func(w http.ResponseWriter, r *http.Request) {
		g, err := em.SetEntraGroupMember(r.PathValue("id"), r.PathValue("userId"), false)
		writeDirectoryResult(w, http.StatusOK, g, err)
	})
	mux.HandleFunc("GET /_emulator/entra/applications", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, map[string]any{"applications": em.EntraApplications(r.URL.Query().Get("tenantId"))})
	})
	mux.HandleFunc("POST /_emulator/entra/applications", func(w http.ResponseWriter, r *http.Request) {
		var a EntraApplication
		if !readAdminJSON(w, r, &a) {
			return
		}
		a, err := em.AddEntraApplication(a)
		writeDirectoryResult(w, http.StatusCreated, a, err)
	})
	mux.HandleFunc("DELETE /_emulator/entra/applications/{clientId}", func(w http.ResponseWriter, r *http.Request) {
		writeDirectoryResult(w, http.StatusNoContent, nil, em.DeleteEntraApplication(r.PathValue("clientId")))
	})
}

// adminAddUser serves POST /_emulator/entra/users.
func (em *Emulator) adminAddUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EntraUser
		Password string `json:"password"`
	}
	if !readAdminJSON(w, r, &in) {
		return
	}
	u, err := em.AddEntraUser(in.EntraUser, in.Password)
	writeDirectoryResult(w, http.StatusCreated, u, err)
}

// readAdminJSON decodes a JSON body, or answers 400 and false.
func readAdminJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeAdmin(w, http.StatusBadRequest, map[string]any{"error": "decoding the body: " + err.Error()})
		return false
	}
	return true
}

// writeDirectoryResult answers a change of the directory: status with v (none when nil), or
// the error (404 ErrEntraNotFound, 409 ErrEntraConflict, else 400).
func writeDirectoryResult(w http.ResponseWriter, status int, v any, err error) {
	switch {
	case errors.Is(err, ErrEntraNotFound):
		writeAdmin(w, http.StatusNotFound, map[string]any{"error": err.Error()})
	case errors.Is(err, ErrEntraConflict):
		writeAdmin(w, http.StatusConflict, map[string]any{"error": err.Error()})
	case err != nil:
		writeAdmin(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
	case v == nil:
		w.WriteHeader(status)
	default:
		writeAdmin(w, status, v)
	}
}
