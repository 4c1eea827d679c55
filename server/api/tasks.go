package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/server/store"
	"github.com/tickrun/tickrun/server/tickscript"
)

// validID is Kapacitor's rule for task, template and handler ids.
var validID = regexp.MustCompile(`^[-._\p{L}0-9]+$`)

// taskJSON is a task as Kapacitor shows it, fields in its order.
type taskJSON struct {
	Link        link                 `json:"link"`
	ID          string               `json:"id"`
	TemplateID  string               `json:"template-id"`
	Type        string               `json:"type"`
	DBRPs       []store.DBRP         `json:"dbrps"`
	Script      string               `json:"script"`
	Vars        map[string]store.Var `json:"vars"`
	Dot         string               `json:"dot"`
	Status      string               `json:"status"`
	Executing   bool                 `json:"executing"`
	Error       string               `json:"error"`
	Stats       any                  `json:"stats"`
	Created     time.Time            `json:"created"`
	Modified    time.Time            `json:"modified"`
	LastEnabled time.Time            `json:"last-enabled"`
}

// statsJSON is an executing task's "stats".
type statsJSON struct {
	TaskStats map[string]float64          `json:"task-stats"`
	NodeStats map[string]map[string]int64 `json:"node-stats"`
}

// taskBody is a POST or PATCH body; missing keys are nil.
type taskBody struct {
	ID         *string              `json:"id"`
	TemplateID *string              `json:"template-id"`
	Type       *string              `json:"type"`
	DBRPs      []store.DBRP         `json:"dbrps"`
	Script     *string              `json:"script"`
	Status     *string              `json:"status"`
	Vars       map[string]store.Var `json:"vars"`
}

func taskLink(id string) link { return self(basePath + "/tasks/" + id) }

// Spec turns a stored task into what the engine runs.
func Spec(t store.Task) (TaskSpec, error) {
	vars := map[string]string{}
	names := make([]string, 0, len(t.Vars))
	for n := range t.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := t.Vars[n]
		s, err := tickscript.VarValue(v.Type, v.Value)
		if err != nil {
			return TaskSpec{}, fmt.Errorf("invalid var %s: %v", n, err)
		}
		vars[n] = s
	}
	return TaskSpec{ID: t.ID, Type: t.Type, DBRPs: t.DBRPs, Script: t.Script, Vars: vars}, nil
}

// view renders a stored task for the API.
func (a *API) view(t store.Task, scriptFormat string) taskJSON {
	v := taskJSON{Link: taskLink(t.ID), ID: t.ID, TemplateID: t.TemplateID, Type: t.Type, DBRPs: t.DBRPs,
		Script: t.Script, Vars: t.Vars, Status: "disabled", Error: t.Error, Stats: struct{}{},
		Created: t.Created, Modified: t.Modified, LastEnabled: t.LastEnabled}
	if v.DBRPs == nil {
		v.DBRPs = []store.DBRP{}
	}
	if v.Vars == nil {
		v.Vars = map[string]store.Var{}
	}
	if t.Enabled {
		v.Status = "enabled"
	}
	if scriptFormat != "raw" {
		if f, err := tickscript.Format(t.Script); err == nil {
			v.Script = f
		}
	}
	if st, ok := a.opts.Engine.Stats(t.ID); ok && st.Err != "" {
		v.Error = st.Err
	} else if ok {
		v.Executing = true
		v.Dot = st.DOT
		v.Stats = statsJSON{TaskStats: map[string]float64{"throughput": st.Throughput}, NodeStats: st.Nodes}
		return v
	}
	if sp, err := Spec(t); err == nil {
		v.Dot, _ = a.opts.Engine.DOT(sp)
	}
	return v
}

// fields renders the named fields of a task view ("id" and "link"
// always), as Kapacitor's list does: a JSON object with sorted keys.
func (v taskJSON) fields(names []string) (map[string]any, error) {
	all := map[string]any{
		"link": v.Link, "id": v.ID, "template-id": v.TemplateID, "type": v.Type, "dbrps": v.DBRPs,
		"script": v.Script, "vars": v.Vars, "dot": v.Dot, "status": v.Status, "executing": v.Executing,
		"error": v.Error, "stats": v.Stats, "created": v.Created, "modified": v.Modified, "last-enabled": v.LastEnabled,
	}
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

// listed answers the list requests of tasks and templates: the items
// whose id matches the glob "pattern" ("" matches all), from "offset",
// at most "limit" (100 by default), each with only the "fields" asked
// for. On a bad parameter it writes a 400 answer and returns false.
func listed[T any](w http.ResponseWriter, r *http.Request, all []T, id func(T) string, view func(T, []string) (map[string]any, error)) ([]map[string]any, bool) {
	q := r.URL.Query()
	pattern := q.Get("pattern")
	if _, err := path.Match(pattern, ""); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid pattern: %v", err))
		return nil, false
	}
	offset, limit := 0, 100
	for _, p := range []struct {
		name string
		v    *int
	}{{"offset", &offset}, {"limit", &limit}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid %s parameter %q", p.name, s))
				return nil, false
			}
			*p.v = n
		}
	}
	var matched []T
	for _, t := range all {
		if match(pattern, id(t)) {
			matched = append(matched, t)
		}
	}
	from := min(offset, len(matched))
	to := min(from+limit, len(matched))
	out := make([]map[string]any, 0, to-from)
	for _, t := range matched[from:to] {
		m, err := view(t, q["fields"])
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return nil, false
		}
		out = append(out, m)
	}
	return out, true
}

// tasks serves /kapacitor/v1/tasks.
func (a *API) tasks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		a.listTasks(w, r)
	case http.MethodPost:
		a.createTask(w, r)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) {
	all, err := a.opts.Store.Tasks()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	format := r.URL.Query().Get("script-format")
	out, ok := listed(w, r, all, func(t store.Task) string { return t.ID },
		func(t store.Task, fields []string) (map[string]any, error) { return a.view(t, format).fields(fields) })
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Tasks []map[string]any `json:"tasks"`
	}{out})
}

// task serves /kapacitor/v1/tasks/<id> and the httpOut routes under it.
func (a *API) task(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, basePath+"/tasks/")
	id, endpoint, isOut := strings.Cut(rest, "/")
	if isOut {
		a.httpOut(w, r, id, endpoint)
		return
	}
	switch r.Method {
	case http.MethodGet:
		t, ok, err := a.opts.Store.Task(id)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if !ok {
			writeError(w, http.StatusNotFound, "no task exists")
			return
		}
		writeJSON(w, http.StatusOK, a.view(t, r.URL.Query().Get("script-format")))
	case http.MethodPatch:
		a.updateTask(w, r, id)
	case http.MethodDelete:
		a.taskMu.Lock()
		defer a.taskMu.Unlock()
		a.opts.Engine.Stop(id)
		if err := a.opts.Store.DeleteTask(id); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, PATCH, DELETE")
	}
}

// httpOut serves GET /kapacitor/v1/tasks/<task>/<endpoint>.
func (a *API) httpOut(w http.ResponseWriter, r *http.Request, id, endpoint string) {
	h, ok := a.opts.Engine.HTTPOut(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no task %q is executing, so it has no endpoint %q", id, endpoint))
		return
	}
	h.ServeHTTP(w, r)
}

// decodeBody reads a JSON body into v; ok is false when an error was
// answered.
func (a *API) decodeBody(w http.ResponseWriter, r *http.Request, v any, what string) bool {
	data, ok := a.readBody(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		writeError(w, http.StatusBadRequest, what)
		return false
	}
	return true
}

func (a *API) createTask(w http.ResponseWriter, r *http.Request) {
	var b taskBody
	if !a.decodeBody(w, r, &b, "invalid JSON") {
		return
	}
	a.taskMu.Lock()
	defer a.taskMu.Unlock()
	t := store.Task{}
	if b.ID != nil {
		t.ID = *b.ID
	}
	if t.ID == "" {
		t.ID = newRequestID()
	}
	if !validID.MatchString(t.ID) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("task ID must contain only letters, numbers, '-', '.' and '_'. %q", t.ID))
		return
	}
	if _, exists, err := a.opts.Store.Task(t.ID); err != nil || exists {
		if err == nil {
			err = fmt.Errorf("task %s already exists", t.ID)
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if b.Status != nil && *b.Status == "enabled" {
		t.Enabled = true
	}
	now := a.opts.Now().UTC()
	t.Created, t.Modified = now, now
	if t.Enabled {
		t.LastEnabled = now
	}
	if code, err := a.applyTaskBody(&t, b, true); err != nil {
		writeError(w, code, err.Error())
		return
	}
	if code, err := a.commitTask(t, false); err != nil {
		writeError(w, code, err.Error())
		return
	}
	t, _, _ = a.opts.Store.Task(t.ID)
	writeJSON(w, http.StatusOK, a.view(t, "formatted"))
}

// applyTaskBody applies a POST or PATCH body to t and checks the
// result: the script (or template), its dbrps, its type and vars. It
// returns the status code of a failure.
func (a *API) applyTaskBody(t *store.Task, b taskBody, creating bool) (int, error) {
	if b.TemplateID != nil && *b.TemplateID != "" {
		t.TemplateID = *b.TemplateID
	}
	switch {
	case t.TemplateID != "":
		tmpl, ok, err := a.opts.Store.Template(t.TemplateID)
		if err != nil {
			return http.StatusInternalServerError, err
		}
		if !ok {
			return http.StatusBadRequest, fmt.Errorf("unknown template %s: err: no template exists", t.TemplateID)
		}
		t.Script, t.Type = tmpl.Script, tmpl.Type
	case b.Script != nil && *b.Script != "":
		if err := a.checkScriptSize(*b.Script); err != nil {
			return http.StatusBadRequest, err
		}
		t.Script = *b.Script
	case creating:
		return http.StatusBadRequest, errors.New("must provide TICKscript")
	}
	if b.Vars != nil {
		t.Vars = b.Vars
	}
	sp, err := Spec(*t)
	if err != nil {
		return http.StatusBadRequest, err
	}
	info, err := tickscript.Inspect(t.Script, sp.Vars)
	if err != nil {
		return http.StatusBadRequest, fmt.Errorf("invalid TICKscript: %v", scriptErr(err))
	}
	if b.Type != nil && *b.Type != "" && t.TemplateID == "" {
		if *b.Type != "stream" && *b.Type != "batch" {
			return http.StatusBadRequest, fmt.Errorf("unknown type %q", *b.Type)
		}
		t.Type = *b.Type
	}
	if info.Type != "" {
		t.Type = info.Type // the script decides, as taskTypeFromProgram does
	}
	if t.Type == "" {
		return http.StatusBadRequest, errors.New("invalid task type: the script has neither stream nor batch")
	}
	switch {
	case len(info.DBRPs) > 0 && len(b.DBRPs) > 0:
		return http.StatusBadRequest, errors.New("cannot specify dbrp in both implicitly and explicitly")
	case len(info.DBRPs) > 0:
		t.DBRPs = nil
		for _, d := range info.DBRPs {
			t.DBRPs = append(t.DBRPs, store.DBRP{DB: d.DB, RP: d.RP})
		}
	case len(b.DBRPs) > 0:
		t.DBRPs = b.DBRPs
	}
	if len(t.DBRPs) == 0 {
		return http.StatusBadRequest, errors.New("must specify dbrp")
	}
	sp.DBRPs, sp.Type, sp.Script = t.DBRPs, t.Type, t.Script
	if err := a.opts.Engine.Check(sp); err != nil {
		return http.StatusBadRequest, fmt.Errorf("invalid TICKscript: %v", err)
	}
	return 0, nil
}

// scriptErr words a parse error as Kapacitor's "line L char C: ...".
func scriptErr(err error) error {
	type positioned interface{ Error() string }
	var se *ScriptError
	if errors.As(err, &se) {
		return se
	}
	// An *ast.Error prints "line:col: message".
	msg := err.(positioned).Error()
	var line, col int
	if n, _ := fmt.Sscanf(msg, "%d:%d:", &line, &col); n == 2 {
		_, rest, _ := strings.Cut(msg, ": ")
		return &ScriptError{Line: line, Col: col, Msg: rest}
	}
	return err
}

// commitTask stores t and starts or stops it; wasEnabled tells whether
// it ran before. A task that fails to start is stored disabled, with
// the error.
func (a *API) commitTask(t store.Task, wasRunning bool) (int, error) {
	sp, err := Spec(t)
	if err != nil {
		return http.StatusBadRequest, err
	}
	sp.DBRPs, sp.Type = t.DBRPs, t.Type
	t.Error = ""
	if t.Enabled {
		if err := a.opts.Engine.Start(sp); err != nil {
			t.Enabled, t.Error = false, err.Error()
			a.opts.Store.PutTask(t)
			return http.StatusBadRequest, fmt.Errorf("failed to start task %s: %v", t.ID, err)
		}
	} else if wasRunning {
		a.opts.Engine.Stop(t.ID)
	}
	if err := a.opts.Store.PutTask(t); err != nil {
		return http.StatusInternalServerError, err
	}
	return 0, nil
}

func (a *API) updateTask(w http.ResponseWriter, r *http.Request, id string) {
	var b taskBody
	if !a.decodeBody(w, r, &b, "invalid JSON") {
		return
	}
	a.taskMu.Lock()
	defer a.taskMu.Unlock()
	t, ok, err := a.opts.Store.Task(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "task does not exist, cannot update")
		return
	}
	running := a.opts.Engine.Executing(id)
	now := a.opts.Now().UTC()
	if b.Status != nil {
		switch *b.Status {
		case "enabled":
			if !t.Enabled {
				t.LastEnabled = now
			}
			t.Enabled = true
		case "disabled":
			t.Enabled = false
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid status %q", *b.Status))
			return
		}
	}
	before := t
	if code, err := a.applyTaskBody(&t, b, false); err != nil {
		writeError(w, code, err.Error())
		return
	}
	t.Modified = now
	// An enabled task whose definition changed is reloaded at once (the
	// CLI's disable/enable after define still works, it only restarts it
	// once more).
	changed := !sameDefinition(before, t)
	if t.Enabled && running && !changed && b.Status != nil {
		if err := a.opts.Store.PutTask(t); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	} else if code, err := a.commitTask(t, running); err != nil {
		writeError(w, code, err.Error())
		return
	}
	t, _, _ = a.opts.Store.Task(id)
	writeJSON(w, http.StatusOK, a.view(t, "formatted"))
}

// sameDefinition reports whether two versions of a task run the same.
func sameDefinition(a, b store.Task) bool {
	x, _ := json.Marshal([]any{a.Script, a.Type, a.DBRPs, a.Vars, a.TemplateID})
	y, _ := json.Marshal([]any{b.Script, b.Type, b.DBRPs, b.Vars, b.TemplateID})
	return string(x) == string(y)
}

// checkScriptSize refuses a script over Options.MaxScriptSize.
func (a *API) checkScriptSize(script string) error {
	max := a.opts.MaxScriptSize
	if max <= 0 {
		max = 1 << 20
	}
	if int64(len(script)) > max {
		return fmt.Errorf("the TICKscript is %d bytes: the limit is %d bytes ([http] max-script-size)", len(script), max)
	}
	return nil
}

// match reports whether id matches a glob pattern ("" matches all).
func match(pattern, id string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, id)
	return ok
}
