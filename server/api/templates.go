package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tickrun/tickrun/server/store"
	"github.com/tickrun/tickrun/server/tickscript"
)

// templateJSON is a template as Kapacitor shows it.
type templateJSON struct {
	Link     link                 `json:"link"`
	ID       string               `json:"id"`
	Type     string               `json:"type"`
	Script   string               `json:"script"`
	Vars     map[string]store.Var `json:"vars"`
	Dot      string               `json:"dot"`
	Error    string               `json:"error"`
	Created  time.Time            `json:"created"`
	Modified time.Time            `json:"modified"`
}

type templateBody struct {
	ID     *string `json:"id"`
	Type   *string `json:"type"`
	Script *string `json:"script"`
}

func templateLink(id string) link { return self(basePath + "/templates/" + id) }

// placeholders are values of each var type with which a template
// compiles before a task gives it its own, to check it and draw its
// graph.
var placeholders = map[string]string{
	"bool": "false", "int": "0", "float": "0", "duration": "1s", "string": "x",
	"regex": "x", "lambda": "TRUE", "star": "", "list": "x",
}

// templateSpec is what the engine checks of a template.
func templateSpec(t store.Template) (TaskSpec, *tickscript.Info, error) {
	info, err := tickscript.Inspect(t.Script, nil)
	if err != nil {
		return TaskSpec{}, nil, scriptErr(err)
	}
	vars := map[string]string{}
	for _, v := range info.Vars {
		if string(v.Value) == "null" {
			vars[v.Name] = placeholders[v.Type]
		}
	}
	sp := TaskSpec{ID: t.ID, Type: info.Type, Script: t.Script, Vars: vars, DBRPs: []store.DBRP{{DB: "db", RP: "rp"}}}
	return sp, info, nil
}

func (a *API) templateView(t store.Template, scriptFormat string) templateJSON {
	v := templateJSON{Link: templateLink(t.ID), ID: t.ID, Type: t.Type, Script: t.Script, Vars: map[string]store.Var{},
		Created: t.Created, Modified: t.Modified}
	if scriptFormat != "raw" {
		if f, err := tickscript.Format(t.Script); err == nil {
			v.Script = f
		}
	}
	sp, info, err := templateSpec(t)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	for _, tv := range info.Vars {
		v.Vars[tv.Name] = store.Var{Type: tv.Type, Value: tv.Value, Description: tv.Description}
	}
	if dot, err := a.opts.Engine.DOT(sp); err == nil {
		v.Dot = dot
	} else {
		v.Error = err.Error()
	}
	return v
}

func (v templateJSON) fields(names []string) (map[string]any, error) {
	all := map[string]any{"link": v.Link, "id": v.ID, "type": v.Type, "script": v.Script, "vars": v.Vars,
		"dot": v.Dot, "error": v.Error, "created": v.Created, "modified": v.Modified}
	if len(names) == 0 {
		return all, nil
	}
	out := map[string]any{"id": v.ID, "link": v.Link}
	for _, n := range names {
		val, ok := all[n]
		if !ok {
			return nil, fmt.Errorf("unsupported field %q", n)
		}
		out[n] = val
	}
	return out, nil
}

// templates serves /kapacitor/v1/templates.
func (a *API) templates(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		all, err := a.opts.Store.Templates()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		format := r.URL.Query().Get("script-format")
		out, ok := listed(w, r, all, func(t store.Template) string { return t.ID },
			func(t store.Template, fields []string) (map[string]any, error) {
				return a.templateView(t, format).fields(fields)
			})
		if !ok {
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Templates []map[string]any `json:"templates"`
		}{out})
	case http.MethodPost:
		a.createTemplate(w, r)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// checkTemplate validates a template's script and sets its type.
func (a *API) checkTemplate(t *store.Template, typ *string) error {
	if strings.TrimSpace(t.Script) == "" {
		return errors.New("must provide TICKscript")
	}
	sp, info, err := templateSpec(*t)
	if err != nil {
		return fmt.Errorf("invalid TICKscript: %v", err)
	}
	t.Type = info.Type
	if t.Type == "" && typ != nil {
		t.Type = *typ
	}
	sp.Type = t.Type
	if err := a.opts.Engine.Check(sp); err != nil {
		return fmt.Errorf("invalid TICKscript: %v", err)
	}
	return nil
}

func (a *API) createTemplate(w http.ResponseWriter, r *http.Request) {
	var b templateBody
	if !a.decodeBody(w, r, &b, "invalid JSON") {
		return
	}
	a.taskMu.Lock()
	defer a.taskMu.Unlock()
	t := store.Template{}
	if b.ID != nil {
		t.ID = *b.ID
	}
	if t.ID == "" {
		t.ID = newRequestID()
	}
	if !validID.MatchString(t.ID) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("template ID must contain only letters, numbers, '-', '.' and '_'. %q", t.ID))
		return
	}
	if _, exists, _ := a.opts.Store.Template(t.ID); exists {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("template %s already exists", t.ID))
		return
	}
	if b.Script != nil {
		if err := a.checkScriptSize(*b.Script); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		t.Script = *b.Script
	}
	if err := a.checkTemplate(&t, b.Type); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := a.opts.Now().UTC()
	t.Created, t.Modified = now, now
	if err := a.opts.Store.PutTemplate(t); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, a.templateView(t, "formatted"))
}

// template serves /kapacitor/v1/templates/<id>.
func (a *API) template(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, basePath+"/templates/")
	switch r.Method {
	case http.MethodGet:
		t, ok, err := a.opts.Store.Template(id)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if !ok {
			writeError(w, http.StatusNotFound, "no template exists")
			return
		}
		writeJSON(w, http.StatusOK, a.templateView(t, r.URL.Query().Get("script-format")))
	case http.MethodPatch:
		a.updateTemplate(w, r, id)
	case http.MethodDelete:
		if err := a.opts.Store.DeleteTemplate(id); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, PATCH, DELETE")
	}
}

// updateTemplate changes a template and every task made from it, all or
// nothing: if one task does not accept the new script, nothing changes.
func (a *API) updateTemplate(w http.ResponseWriter, r *http.Request, id string) {
	var b templateBody
	if !a.decodeBody(w, r, &b, "invalid JSON") {
		return
	}
	a.taskMu.Lock()
	defer a.taskMu.Unlock()
	t, ok, err := a.opts.Store.Template(id)
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "template does not exist, cannot update")
		return
	}
	if b.Script != nil {
		if err := a.checkScriptSize(*b.Script); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		t.Script = *b.Script
	}
	if err := a.checkTemplate(&t, b.Type); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tasks, err := a.opts.Store.Tasks()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var users []store.Task
	for _, task := range tasks {
		if task.TemplateID != id {
			continue
		}
		task.Script, task.Type = t.Script, t.Type
		sp, err := Spec(task)
		if err == nil {
			sp.DBRPs = task.DBRPs
			err = a.opts.Engine.Check(sp)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("error reloading associated task %s: %v", task.ID, err))
			return
		}
		users = append(users, task)
	}
	t.Modified = a.opts.Now().UTC()
	if err := a.opts.Store.PutTemplate(t); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for _, task := range users {
		task.Modified = t.Modified
		if _, err := a.commitTask(task, a.opts.Engine.Executing(task.ID)); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, a.templateView(t, "formatted"))
}
