package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/tickrun/tickrun/server/store"
)

// Permissions of normal users, as Kapacitor names them.
var permissions = map[string]bool{"none": true, "api": true, "config_api": true, "write_points": true, "all": true}

type userJSON struct {
	Link        link     `json:"link"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Permissions []string `json:"permissions"`
}

type userBody struct {
	Name        string   `json:"name"`
	Password    *string  `json:"password"`
	Type        string   `json:"type"`
	Permissions []string `json:"permissions"`
}

func userView(u store.User) userJSON {
	typ := "normal"
	if u.Admin {
		typ = "admin"
	}
	perms := u.Permissions
	if perms == nil {
		perms = []string{}
	}
	return userJSON{Link: self(basePath + "/users/" + u.Name), Name: u.Name, Type: typ, Permissions: perms}
}

// credentials reads Basic auth, or the u and p query parameters.
func credentials(r *http.Request) (string, string, bool) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p, true
	}
	q := r.URL.Query()
	if u := q.Get("u"); u != "" {
		return u, q.Get("p"), true
	}
	return "", "", false
}

// authorize checks the request's credentials when [http] auth-enabled
// is set; it answers 401 or 403 itself and returns false then.
func (a *API) authorize(w http.ResponseWriter, r *http.Request) bool {
	name, pass, ok := credentials(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="kapacitor"`)
		writeError(w, http.StatusUnauthorized, "unable to parse authentication credentials")
		return false
	}
	u, found, err := a.opts.Store.User(name)
	if err != nil || !found || bcrypt.CompareHashAndPassword(u.Hash, []byte(pass)) != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="kapacitor"`)
		writeError(w, http.StatusUnauthorized, "authorization failed")
		return false
	}
	need := "api"
	switch {
	case isWrite(r.URL.Path):
		need = "write_points"
	case strings.HasPrefix(r.URL.Path, basePath+"/users"):
		need = "admin"
	}
	if u.Admin {
		return true
	}
	for _, p := range u.Permissions {
		if p == "all" && need != "admin" || p == need {
			return true
		}
	}
	writeError(w, http.StatusForbidden, fmt.Sprintf("user %s does not have %q privilege for API endpoint %q", name, need, r.URL.Path))
	return false
}

// users serves /kapacitor/v1/users.
func (a *API) users(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		us, err := a.opts.Store.Users()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		list := make([]userJSON, 0, len(us))
		for _, u := range us {
			list = append(list, userView(u))
		}
		writeJSON(w, http.StatusOK, struct {
			Link  link       `json:"link"`
			Users []userJSON `json:"users"`
		}{self(basePath + "/users"), list})
	case http.MethodPost:
		var b userBody
		if !a.decodeBody(w, r, &b, "invalid JSON") {
			return
		}
		if !validID.MatchString(b.Name) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid user name %q", b.Name))
			return
		}
		if _, exists, _ := a.opts.Store.User(b.Name); exists {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("user %s already exists", b.Name))
			return
		}
		if b.Password == nil || *b.Password == "" {
			writeError(w, http.StatusBadRequest, "must provide a password")
			return
		}
		u := store.User{Name: b.Name}
		if err := applyUser(&u, b); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := a.opts.Store.PutUser(u); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, userView(u))
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// applyUser applies a body's password, type and permissions to u.
func applyUser(u *store.User, b userBody) error {
	if b.Password != nil {
		hash, err := bcrypt.GenerateFromPassword([]byte(*b.Password), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		u.Hash = hash
	}
	switch b.Type {
	case "":
	case "admin":
		u.Admin = true
	case "normal":
		u.Admin = false
	default:
		return fmt.Errorf("invalid user type %q: want normal or admin", b.Type)
	}
	if b.Permissions != nil {
		for _, p := range b.Permissions {
			if !permissions[p] {
				return errors.New("unknown permission " + p)
			}
		}
		u.Permissions = b.Permissions
	}
	return nil
}

// user serves /kapacitor/v1/users/<name>.
func (a *API) user(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, basePath+"/users/")
	u, ok, err := a.opts.Store.User(name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if r.Method == http.MethodDelete {
		a.opts.Store.DeleteUser(name)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("user %s does not exist", name))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, userView(u))
	case http.MethodPatch:
		var b userBody
		if !a.decodeBody(w, r, &b, "invalid JSON") {
			return
		}
		if err := applyUser(&u, b); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := a.opts.Store.PutUser(u); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, userView(u))
	default:
		methodNotAllowed(w, "GET, PATCH, DELETE")
	}
}
