package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/tickrun/tickrun/server/store"
)

const topicsPath = basePath + "/alerts/topics"

type topicJSON struct {
	Link         link   `json:"link"`
	ID           string `json:"id"`
	Level        string `json:"level"`
	Collected    int64  `json:"collected"`
	EventsLink   link   `json:"events-link"`
	HandlersLink link   `json:"handlers-link"`
}

type eventJSON struct {
	Link  link           `json:"link"`
	ID    string         `json:"id"`
	State eventStateJSON `json:"state"`
}

type eventStateJSON struct {
	Message  string    `json:"message"`
	Details  string    `json:"details"`
	Time     time.Time `json:"time"`
	Duration string    `json:"duration"`
	Level    string    `json:"level"`
}

type handlerJSON struct {
	Link    link           `json:"link"`
	ID      string         `json:"id"`
	Kind    string         `json:"kind"`
	Options map[string]any `json:"options"`
	Match   string         `json:"match"`
}

// handlerBody is a handler as POST and PUT carry it.
type handlerBody struct {
	ID      string         `json:"id"`
	Topic   string         `json:"topic"`
	Kind    string         `json:"kind"`
	Options map[string]any `json:"options"`
	Match   string         `json:"match"`
}

var levels = map[string]int{"OK": 0, "INFO": 1, "WARNING": 2, "CRITICAL": 3}

func parseLevel(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	l, ok := levels[strings.ToUpper(s)]
	if !ok {
		return 0, fmt.Errorf("unknown alert level '%s'", s)
	}
	return l, nil
}

func topicView(id string, st TopicState) topicJSON {
	base := path.Join(topicsPath, id)
	return topicJSON{Link: self(base), ID: id, Level: st.Level, Collected: st.Collected,
		EventsLink: link{Rel: "events", Href: base + "/events"}, HandlersLink: link{Rel: "handlers", Href: base + "/handlers"}}
}

func handlerView(h store.Handler) handlerJSON {
	opts := h.Options
	if opts == nil {
		opts = map[string]any{}
	}
	return handlerJSON{Link: self(path.Join(topicsPath, h.Topic, "handlers", h.ID)), ID: h.ID, Kind: h.Kind, Options: opts, Match: h.Match}
}

// listTopics serves GET /kapacitor/v1/alerts/topics.
func (a *API) listTopics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	pattern := r.URL.Query().Get("pattern")
	if _, err := path.Match(pattern, ""); err != nil {
		writeError(w, http.StatusBadRequest, "invalid pattern: "+err.Error())
		return
	}
	min, err := parseLevel(r.URL.Query().Get("min-level"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	states := a.opts.Engine.Topics()
	ids := make([]string, 0, len(states))
	for id, st := range states {
		if match(pattern, id) && levels[st.Level] >= min {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	list := make([]topicJSON, 0, len(ids))
	for _, id := range ids {
		list = append(list, topicView(id, states[id]))
	}
	writeJSON(w, http.StatusOK, struct {
		Link   link        `json:"link"`
		Topics []topicJSON `json:"topics"`
	}{self(r.URL.String()), list})
}

// topicRoute serves everything under /kapacitor/v1/alerts/topics/.
func (a *API) topicRoute(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, topicsPath+"/"), "/")
	parts := strings.Split(rest, "/")
	topic := parts[0]
	switch {
	case len(parts) == 1:
		a.topic(w, r, topic)
	case len(parts) == 2 && parts[1] == "events":
		a.events(w, r, topic)
	case len(parts) == 3 && parts[1] == "events":
		a.event(w, r, topic, parts[2])
	case len(parts) == 2 && parts[1] == "handlers":
		a.handlers(w, r, topic)
	case len(parts) == 3 && parts[1] == "handlers":
		a.handler(w, r, topic, parts[2])
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

func (a *API) topic(w http.ResponseWriter, r *http.Request, id string) {
	switch r.Method {
	case http.MethodGet:
		st, ok := a.opts.Engine.Topics()[id]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown topic: %q", id))
			return
		}
		writeJSON(w, http.StatusOK, topicView(id, st))
	case http.MethodDelete:
		if err := a.opts.Engine.DeleteTopic(id); err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("failed to delete topic %q: %v", id, err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, DELETE")
	}
}

func eventView(topic, id string, st EventState) eventJSON {
	return eventJSON{Link: self(path.Join(topicsPath, topic, "events", id)), ID: id,
		State: eventStateJSON{Message: st.Message, Details: st.Details, Time: st.Time.UTC(), Duration: kapDuration(st.Duration), Level: st.Level}}
}

// kapDuration writes a duration as Kapacitor's API does ("50s", "0s").
func kapDuration(d time.Duration) string { return d.String() }

func (a *API) events(w http.ResponseWriter, r *http.Request, topic string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	min, err := parseLevel(r.URL.Query().Get("min-level"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	evs, ok := a.opts.Engine.Events(topic)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown topic: %q", topic))
		return
	}
	ids := make([]string, 0, len(evs))
	for id, st := range evs {
		if levels[st.Level] >= min {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	list := make([]eventJSON, 0, len(ids))
	for _, id := range ids {
		list = append(list, eventView(topic, id, evs[id]))
	}
	writeJSON(w, http.StatusOK, struct {
		Link   link        `json:"link"`
		Topic  string      `json:"topic"`
		Events []eventJSON `json:"events"`
	}{self(path.Join(topicsPath, topic, "events")), topic, list})
}

func (a *API) event(w http.ResponseWriter, r *http.Request, topic, id string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	evs, _ := a.opts.Engine.Events(topic)
	st, ok := evs[id]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown event %q in topic %q", id, topic))
		return
	}
	writeJSON(w, http.StatusOK, eventView(topic, id, st))
}

func (a *API) handlers(w http.ResponseWriter, r *http.Request, topic string) {
	switch r.Method {
	case http.MethodGet:
		pattern := r.URL.Query().Get("pattern")
		if _, err := path.Match(pattern, ""); err != nil {
			writeError(w, http.StatusBadRequest, "invalid pattern: "+err.Error())
			return
		}
		hs, err := a.opts.Store.Handlers(topic)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "failed to get handler specs: "+err.Error())
			return
		}
		list := make([]handlerJSON, 0, len(hs))
		for _, h := range hs {
			if match(pattern, h.ID) {
				list = append(list, handlerView(h))
			}
		}
		writeJSON(w, http.StatusOK, struct {
			Link     link          `json:"link"`
			Topic    string        `json:"topic"`
			Handlers []handlerJSON `json:"handlers"`
		}{self(r.URL.String()), topic, list})
	case http.MethodPost:
		var b handlerBody
		if !a.decodeHandler(w, r, &b, "invalid handler json: ") {
			return
		}
		h := store.Handler{ID: b.ID, Topic: topic, Kind: b.Kind, Options: b.Options, Match: b.Match}
		a.taskMu.Lock()
		defer a.taskMu.Unlock()
		if _, exists, _ := a.opts.Store.Handler(topic, h.ID); exists {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("failed to create handler: handler %q already exists", h.ID))
			return
		}
		a.saveHandler(w, h)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

func (a *API) decodeHandler(w http.ResponseWriter, r *http.Request, v any, prefix string) bool {
	data, ok := a.readBody(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		writeError(w, http.StatusBadRequest, prefix+err.Error())
		return false
	}
	return true
}

// validateHandler applies Kapacitor's rules and the engine's checks of
// kind and options.
func (a *API) validateHandler(h store.Handler) error {
	switch {
	case h.ID == "":
		return fmt.Errorf("invalid handler spec: must provide an ID")
	case !validID.MatchString(h.ID):
		return fmt.Errorf("invalid handler spec: handler ID must contain only letters, numbers, '-', '.' and '_'. %q", h.ID)
	case h.Kind == "":
		return fmt.Errorf("invalid handler spec: must provide a kind")
	}
	if err := a.opts.Engine.CheckHandler(h); err != nil {
		return fmt.Errorf("invalid handler spec: %v", err)
	}
	return nil
}

// saveHandler validates, stores and applies a handler; the caller holds
// taskMu.
func (a *API) saveHandler(w http.ResponseWriter, h store.Handler) {
	if err := a.validateHandler(h); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.opts.Store.PutHandler(h); err != nil {
		writeError(w, http.StatusInternalServerError, "failed to create handler: "+err.Error())
		return
	}
	if err := a.opts.Engine.HandlersChanged(h.Topic); err != nil {
		a.opts.Logger.Error("applying topic handlers", "topic", h.Topic, "err", err)
	}
	writeJSON(w, http.StatusOK, handlerView(h))
}

func (a *API) handler(w http.ResponseWriter, r *http.Request, topic, id string) {
	a.taskMu.Lock()
	defer a.taskMu.Unlock()
	h, ok, err := a.opts.Store.Handler(topic, id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("failed to get handler %q: %v", id, err))
		return
	}
	if r.Method == http.MethodDelete {
		if err := a.opts.Store.DeleteHandler(topic, id); err != nil {
			writeError(w, http.StatusInternalServerError, "failed to delete handler: "+err.Error())
			return
		}
		if ok {
			if err := a.opts.Engine.HandlersChanged(topic); err != nil {
				a.opts.Logger.Error("applying topic handlers", "topic", topic, "err", err)
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown handler: %q", id))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, handlerView(h))
	case http.MethodPut:
		var b handlerBody
		if !a.decodeHandler(w, r, &b, "failed to unmarshal JSON: ") {
			return
		}
		a.replaceHandler(w, h, store.Handler{ID: b.ID, Topic: topic, Kind: b.Kind, Options: b.Options, Match: b.Match})
	case http.MethodPatch:
		patchBytes, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxBodySize))
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "failed to read request body: "+err.Error())
			return
		}
		patch, err := jsonpatch.DecodePatch(patchBytes)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid patch json: "+err.Error())
			return
		}
		cur, _ := json.Marshal(handlerBody{ID: h.ID, Topic: h.Topic, Kind: h.Kind, Options: h.Options, Match: h.Match})
		patched, err := patch.Apply(cur)
		if err != nil {
			writeError(w, http.StatusBadRequest, "failed to apply patch: "+err.Error())
			return
		}
		var b handlerBody
		if err := json.Unmarshal(patched, &b); err != nil {
			writeError(w, http.StatusBadRequest, "failed to unmarshal patched json: "+err.Error())
			return
		}
		a.replaceHandler(w, h, store.Handler{ID: b.ID, Topic: topic, Kind: b.Kind, Options: b.Options, Match: b.Match})
	default:
		methodNotAllowed(w, "GET, PUT, PATCH, DELETE")
	}
}

// replaceHandler puts new in place of old (its id may change).
func (a *API) replaceHandler(w http.ResponseWriter, old, new store.Handler) {
	if err := a.validateHandler(new); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if new.ID != old.ID {
		if err := a.opts.Store.DeleteHandler(old.Topic, old.ID); err != nil {
			writeError(w, http.StatusInternalServerError, "failed to update handler: "+err.Error())
			return
		}
	}
	a.saveHandler(w, new)
}
