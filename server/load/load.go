package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tickrun/tickrun/server/store"
)

// Subdirectories of a load directory.
const (
	TasksDir     = "tasks"
	TemplatesDir = "templates"
	HandlersDir  = "handlers"
)

// Loader applies a load directory through the server's API.
type Loader struct {
	Dir   string       // the [load] dir
	API   http.Handler // the server's API, asking for no credentials
	Store *store.Store // where the loaded items are listed
	Log   *slog.Logger // nil: slog.Default()
}

// Result tells what one load did.
type Result struct {
	Applied []string // items defined or updated, as "tasks/<id>", "templates/<id>", "handlers/<topic>/<id>"
	Removed []string // items deleted because their file is gone
	Errors  []error  // one *FileError per file that could not be applied, or per item that could not be removed
}

// Err returns the errors of the load joined, or nil.
func (r Result) Err() error { return errors.Join(r.Errors...) }

// FileError is a file of the load directory that could not be applied:
// it is skipped, and what it defined before stays as it was.
type FileError struct {
	File string
	Err  error
}

// Error returns "file: problem".
func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FileError) Unwrap() error { return e.Err }

// run is the state of one load.
type run struct {
	l       *Loader
	log     *slog.Logger
	res     Result
	present map[string]bool // items whose file exists, applied or not
	failed  map[string]bool // files that could not be applied
	// unreadable subdirectories: their items are not removed.
	unreadable map[string]bool
}

// Load applies the directory, in kapacitord's order: templates, then
// tasks from TICKscripts, then tasks from vars files, then handlers;
// then it deletes the items of earlier loads whose files are gone.
//
// Where kapacitord stops at the first bad file (and then removes
// nothing), a bad file here is logged and skipped, and the rest is
// applied: what the bad file defined before keeps running as it was.
// A new item is created enabled; an existing one is updated and enabled,
// and restarted only if its definition changed (kapacitord restarts
// every loaded task on each SIGHUP, which empties its windows).
func (l *Loader) Load() Result {
	r := &run{l: l, log: l.Log, present: map[string]bool{}, failed: map[string]bool{}, unreadable: map[string]bool{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	if _, err := os.Stat(l.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Not a missing directory (which means every file is gone, as
		// for kapacitord) but one that cannot be read: remove nothing.
		r.fail(l.Dir, err)
		return r.res
	}
	for _, f := range r.files(TemplatesDir, ".tick") {
		r.template(f)
	}
	ticks := r.files(TasksDir, ".tick")
	vars := r.files(TasksDir, ".yaml", ".yml", ".json")
	for _, f := range ticks {
		r.tickTask(f)
	}
	for _, f := range vars {
		r.varsTask(f)
	}
	for _, f := range r.files(HandlersDir, ".yaml", ".yml", ".json") {
		r.handler(f)
	}
	r.removeMissing()
	return r.res
}

// files lists the files of a subdirectory with one of the extensions,
// sorted; subdirectories are ignored.
func (r *run) files(sub string, exts ...string) []string {
	dir := filepath.Join(r.l.Dir, sub)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.unreadable[sub] = true
			r.fail(dir, err)
		}
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		for _, x := range exts {
			if filepath.Ext(e.Name()) == x {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out
}

func (r *run) fail(file string, err error) {
	r.failed[file] = true
	r.res.Errors = append(r.res.Errors, &FileError{File: file, Err: err})
	r.log.Error("load: file skipped", "file", file, "err", err)
}

func (r *run) applied(item, kind, file string) {
	if err := r.l.Store.PutLoadItem(store.LoadItem{ID: item, File: file}); err != nil {
		r.fail(file, err)
		return
	}
	r.res.Applied = append(r.res.Applied, item)
	r.log.Info("load: applied", "kind", kind, "item", item, "file", file)
}

// idOf is a file's item id: its name without the extension.
func idOf(file string) string {
	base := filepath.Base(file)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func (r *run) template(file string) {
	id := idOf(file)
	item := path.Join(TemplatesDir, id)
	r.present[item] = true
	script, err := os.ReadFile(file)
	if err != nil {
		r.fail(file, err)
		return
	}
	p := "/kapacitor/v1/templates/" + url.PathEscape(id)
	var err2 error
	if r.exists(p) {
		err2 = r.call(http.MethodPatch, p, map[string]any{"script": string(script)})
	} else {
		err2 = r.call(http.MethodPost, "/kapacitor/v1/templates", map[string]any{"id": id, "script": string(script)})
	}
	if err2 != nil {
		r.fail(file, err2)
		return
	}
	r.applied(item, "template", file)
}

// tickTask defines a task from a TICKscript: the id is the file's name;
// the type and the dbrps come from the script (the loader sends neither,
// as kapacitord's).
func (r *run) tickTask(file string) {
	id := idOf(file)
	item := path.Join(TasksDir, id)
	r.present[item] = true
	script, err := os.ReadFile(file)
	if err != nil {
		r.fail(file, err)
		return
	}
	r.task(file, item, id, map[string]any{"script": string(script)})
}

// taskVars is a vars file: Kapacitor's TaskVars, as `kapacitor define
// -file` reads it too. Its id, if any, gives way to the file's name.
type taskVars struct {
	ID         string               `json:"id"`
	TemplateID string               `json:"template-id"`
	DBRPs      []store.DBRP         `json:"dbrps"`
	Vars       map[string]store.Var `json:"vars"`
}

func (r *run) varsTask(file string) {
	id := idOf(file)
	item := path.Join(TasksDir, id)
	r.present[item] = true
	var tv taskVars
	if err := decodeFile(file, &tv); err != nil {
		r.fail(file, err)
		return
	}
	if tv.TemplateID == "" {
		r.fail(file, errors.New("a task vars file needs a template-id"))
		return
	}
	body := map[string]any{"template-id": tv.TemplateID}
	if len(tv.DBRPs) > 0 {
		body["dbrps"] = tv.DBRPs
	}
	if tv.Vars != nil {
		body["vars"] = tv.Vars
	}
	r.task(file, item, id, body)
}

// task creates the task enabled, or updates and enables it.
func (r *run) task(file, item, id string, body map[string]any) {
	body["status"] = "enabled"
	p := "/kapacitor/v1/tasks/" + url.PathEscape(id)
	var err error
	if r.exists(p) {
		err = r.call(http.MethodPatch, p, body)
	} else {
		body["id"] = id
		err = r.call(http.MethodPost, "/kapacitor/v1/tasks", body)
	}
	if err != nil {
		r.fail(file, err)
		return
	}
	r.applied(item, "task", file)
}

// handlerFile is a topic handler file, as define-topic-handler reads it.
type handlerFile struct {
	ID      string         `json:"id"`
	Topic   string         `json:"topic"`
	Kind    string         `json:"kind"`
	Match   string         `json:"match"`
	Options map[string]any `json:"options"`
}

func (r *run) handler(file string) {
	var h handlerFile
	if err := decodeFile(file, &h); err != nil {
		r.fail(file, err)
		return
	}
	if h.Topic == "" || h.ID == "" {
		r.fail(file, errors.New("a topic handler file needs a topic and an id"))
		return
	}
	item := path.Join(HandlersDir, h.Topic, h.ID)
	r.present[item] = true
	base := "/kapacitor/v1/alerts/topics/" + url.PathEscape(h.Topic) + "/handlers"
	p := base + "/" + url.PathEscape(h.ID)
	var err error
	if r.exists(p) {
		err = r.call(http.MethodPut, p, h)
	} else {
		err = r.call(http.MethodPost, base, h)
	}
	if err != nil {
		r.fail(file, err)
		return
	}
	r.applied(item, "handler", file)
}

// removeMissing deletes the items of earlier loads that no file defines
// any more. An item whose file is still there but could not be applied
// stays, and so do the items of a subdirectory that could not be read.
func (r *run) removeMissing() {
	items, err := r.l.Store.LoadItems()
	if err != nil {
		r.fail(r.l.Dir, err)
		return
	}
	// kapacitord's order: tasks, then templates, then handlers.
	rank := map[string]int{TasksDir: 0, TemplatesDir: 1, HandlersDir: 2}
	sort.SliceStable(items, func(i, j int) bool {
		a, _, _ := strings.Cut(items[i].ID, "/")
		b, _, _ := strings.Cut(items[j].ID, "/")
		return rank[a] < rank[b]
	})
	for _, it := range items {
		sub, rest, _ := strings.Cut(it.ID, "/")
		if r.present[it.ID] || r.failed[it.File] || r.unreadable[sub] {
			continue
		}
		var p string
		switch sub {
		case TasksDir:
			p = "/kapacitor/v1/tasks/" + url.PathEscape(rest)
		case TemplatesDir:
			p = "/kapacitor/v1/templates/" + url.PathEscape(rest)
		case HandlersDir:
			topic, id, _ := strings.Cut(rest, "/")
			p = "/kapacitor/v1/alerts/topics/" + url.PathEscape(topic) + "/handlers/" + url.PathEscape(id)
		default:
			continue
		}
		if err := r.call(http.MethodDelete, p, nil); err != nil {
			r.res.Errors = append(r.res.Errors, &FileError{File: it.File, Err: fmt.Errorf("removing %s: %w", it.ID, err)})
			r.log.Error("load: removing failed", "item", it.ID, "err", err)
			continue
		}
		if err := r.l.Store.DeleteLoadItem(it.ID); err != nil {
			r.res.Errors = append(r.res.Errors, &FileError{File: it.File, Err: err})
			continue
		}
		r.res.Removed = append(r.res.Removed, it.ID)
		r.log.Info("load: removed, its file is gone", "item", it.ID, "file", it.File)
	}
}

// decodeFile reads a YAML or JSON file into v through JSON, so that v's
// json tags name the keys in both (Kapacitor reads YAML the same way).
func decodeFile(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if filepath.Ext(file) != ".json" {
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("not valid YAML: %v", err)
		}
		if data, err = json.Marshal(doc); err != nil {
			return fmt.Errorf("not valid YAML for JSON: %v", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a valid definition: %v", err)
	}
	return nil
}

// exists reports whether GET path answers 200.
func (r *run) exists(p string) bool {
	status, _ := r.do(http.MethodGet, p, nil)
	return status == http.StatusOK
}

// call sends a request and turns an answer other than 2xx into the
// error the API gave.
func (r *run) call(method, p string, body any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	status, resp := r.do(method, p, data)
	if status >= 200 && status < 300 {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(resp, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("%s %s: status %d: %s", method, p, status, strings.TrimSpace(string(resp)))
}

// do serves one request in process.
func (r *run) do(method, p string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, p, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	r.l.API.ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes()
}

// recorder is the response of an in-process request.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.body.Write(b)
}
