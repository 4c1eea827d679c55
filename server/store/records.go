package store

import (
	"encoding/json"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DBRP is a database and retention policy a task reads.
type DBRP struct {
	DB string `json:"db"`
	RP string `json:"rp"`
}

// Var is a task or template var as Kapacitor's API carries it: a type
// (bool, int, float, duration, string, regex, lambda, star, list), its
// value as JSON (a list holds Vars) and a description.
type Var struct {
	Type        string          `json:"type"`
	Value       json.RawMessage `json:"value"`
	Description string          `json:"description"`
}

// Task is a defined task.
type Task struct {
	ID          string         `json:"id"`
	TemplateID  string         `json:"template-id,omitempty"`
	Type        string         `json:"type"` // "stream" or "batch"
	DBRPs       []DBRP         `json:"dbrps"`
	Script      string         `json:"script"` // as defined (raw)
	Vars        map[string]Var `json:"vars,omitempty"`
	Enabled     bool           `json:"enabled"`
	Error       string         `json:"error,omitempty"` // why it last failed to start
	Created     time.Time      `json:"created"`
	Modified    time.Time      `json:"modified"`
	LastEnabled time.Time      `json:"last-enabled"`
}

// Template is a defined template.
type Template struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Script   string    `json:"script"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// Handler is a topic handler (kapacitor define-topic-handler).
type Handler struct {
	ID      string         `json:"id"`
	Topic   string         `json:"topic"`
	Kind    string         `json:"kind"`
	Options map[string]any `json:"options"`
	Match   string         `json:"match"`
}

// AlertState is the last event of one alert id in one topic, kept while
// the alert is not OK (an OK event deletes it, as in Kapacitor). With it a
// restarted server sends the recovery of an alert that was CRITICAL with
// the right previous level and the duration counted from EpisodeStart.
type AlertState struct {
	Level        string          `json:"level"`         // "INFO", "WARNING", "CRITICAL"
	Time         time.Time       `json:"time"`          // of the last event
	EpisodeStart time.Time       `json:"episode-start"` // first non-OK event of the episode
	Message      string          `json:"message"`
	Details      string          `json:"details"`
	Event        json.RawMessage `json:"event"` // the event as handlers received it
	Task         string          `json:"task,omitempty"`
	Node         string          `json:"node,omitempty"`
}

// User is an account for [http] auth-enabled. The password is kept as a
// bcrypt hash only.
type User struct {
	Name        string   `json:"name"`
	Hash        []byte   `json:"hash"`
	Admin       bool     `json:"admin"`
	Permissions []string `json:"permissions,omitempty"` // api, config_api, write_points, all
}

// PutTask creates or replaces a task.
func (s *Store) PutTask(t Task) error { return s.put(bucketTasks, nil, t.ID, t) }

// Task returns the task id and whether it exists.
func (s *Store) Task(id string) (Task, bool, error) {
	var t Task
	ok, err := s.get(bucketTasks, nil, id, &t)
	return t, ok, err
}

// Tasks returns every task, sorted by id.
func (s *Store) Tasks() ([]Task, error) { return list[Task](s, bucketTasks, nil) }

// DeleteTask removes a task; a missing one is not an error.
func (s *Store) DeleteTask(id string) error { return s.del(bucketTasks, nil, id) }

// PutTemplate creates or replaces a template.
func (s *Store) PutTemplate(t Template) error { return s.put(bucketTemplates, nil, t.ID, t) }

// Template returns the template id and whether it exists.
func (s *Store) Template(id string) (Template, bool, error) {
	var t Template
	ok, err := s.get(bucketTemplates, nil, id, &t)
	return t, ok, err
}

// Templates returns every template, sorted by id.
func (s *Store) Templates() ([]Template, error) { return list[Template](s, bucketTemplates, nil) }

// DeleteTemplate removes a template; a missing one is not an error.
func (s *Store) DeleteTemplate(id string) error { return s.del(bucketTemplates, nil, id) }

// PutHandler creates or replaces a topic handler.
func (s *Store) PutHandler(h Handler) error {
	return s.put(bucketHandlers, []byte(h.Topic), h.ID, h)
}

// Handler returns a topic's handler and whether it exists.
func (s *Store) Handler(topic, id string) (Handler, bool, error) {
	var h Handler
	ok, err := s.get(bucketHandlers, []byte(topic), id, &h)
	return h, ok, err
}

// Handlers returns the handlers of a topic, sorted by id.
func (s *Store) Handlers(topic string) ([]Handler, error) {
	return list[Handler](s, bucketHandlers, []byte(topic))
}

// AllHandlers returns every handler, by topic then id.
func (s *Store) AllHandlers() ([]Handler, error) {
	topics, err := s.subBuckets(bucketHandlers)
	if err != nil {
		return nil, err
	}
	var out []Handler
	for _, t := range topics {
		hs, err := s.Handlers(t)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	return out, nil
}

// DeleteHandler removes a topic handler; a missing one is not an error.
func (s *Store) DeleteHandler(topic, id string) error {
	return s.del(bucketHandlers, []byte(topic), id)
}

// PutAlertState records the state of alert id in topic.
func (s *Store) PutAlertState(topic, id string, st AlertState) error {
	return s.put(bucketAlerts, []byte(topic), id, st)
}

// DeleteAlertState forgets alert id in topic (it recovered).
func (s *Store) DeleteAlertState(topic, id string) error {
	return s.del(bucketAlerts, []byte(topic), id)
}

// AlertState returns the state of alert id in topic, if any.
func (s *Store) AlertState(topic, id string) (AlertState, bool, error) {
	var st AlertState
	ok, err := s.get(bucketAlerts, []byte(topic), id, &st)
	return st, ok, err
}

// AlertStates returns the states of a topic by alert id.
func (s *Store) AlertStates(topic string) (map[string]AlertState, error) {
	out := map[string]AlertState{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return each(tx.Bucket(bucketAlerts).Bucket([]byte(topic)), func(k, data []byte) error {
			var st AlertState
			if err := json.Unmarshal(data, &st); err != nil {
				return err
			}
			out[string(k)] = st
			return nil
		})
	})
	return out, err
}

// AlertTopics returns the topics that hold alert states, sorted.
func (s *Store) AlertTopics() ([]string, error) { return s.subBuckets(bucketAlerts) }

// DeleteTopic forgets every alert state of a topic.
func (s *Store) DeleteTopic(topic string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketAlerts).DeleteBucket([]byte(topic))
		if errors.Is(err, bolt.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// PutUser creates or replaces a user.
func (s *Store) PutUser(u User) error { return s.put(bucketUsers, nil, u.Name, u) }

// User returns a user and whether it exists.
func (s *Store) User(name string) (User, bool, error) {
	var u User
	ok, err := s.get(bucketUsers, nil, name, &u)
	return u, ok, err
}

// Users returns every user, sorted by name.
func (s *Store) Users() ([]User, error) { return list[User](s, bucketUsers, nil) }

// DeleteUser removes a user; a missing one is not an error.
func (s *Store) DeleteUser(name string) error { return s.del(bucketUsers, nil, name) }

// LoadItem is something the [load] directory defined: a task, a template
// or a topic handler ("handlers/<topic>/<id>"), with the file it came
// from. Kapacitor keeps the same list (namespace load_items) so that a
// later load deletes what lost its file, and only that: items defined
// through the API are never touched.
type LoadItem struct {
	ID   string `json:"id"`   // "tasks/<id>", "templates/<id>", "handlers/<topic>/<id>"
	File string `json:"file"` // the file it was last loaded from
}

// PutLoadItem records an item the load directory defined.
func (s *Store) PutLoadItem(it LoadItem) error { return s.put(bucketLoadItems, nil, it.ID, it) }

// LoadItems returns the items the load directory defined, sorted by id.
func (s *Store) LoadItems() ([]LoadItem, error) { return list[LoadItem](s, bucketLoadItems, nil) }

// DeleteLoadItem forgets an item; a missing one is not an error.
func (s *Store) DeleteLoadItem(id string) error { return s.del(bucketLoadItems, nil, id) }
