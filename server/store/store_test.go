package store

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tickrun.db")
	s, err := Open(path)
	require.NoError(t, err)
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	require.NoError(t, s.PutTask(Task{ID: "b", Type: "stream", Script: "stream", Enabled: true, Created: now,
		Vars: map[string]Var{"x": {Type: "int", Value: json.RawMessage("5")}}}))
	require.NoError(t, s.PutTask(Task{ID: "a", Type: "batch"}))
	require.NoError(t, s.PutTemplate(Template{ID: "t", Script: "var x int"}))
	require.NoError(t, s.PutHandler(Handler{ID: "h", Topic: "cpu", Kind: "tcp", Options: map[string]any{"address": "127.0.0.1:1"}}))
	require.NoError(t, s.PutAlertState("cpu", "cpu:nil", AlertState{Level: "CRITICAL", Time: now, EpisodeStart: now.Add(-time.Minute)}))
	require.NoError(t, s.PutUser(User{Name: "bob", Hash: []byte("x"), Admin: true}))
	require.NoError(t, s.Close())

	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	tasks, err := s.Tasks()
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	require.Equal(t, "a", tasks[0].ID)
	require.True(t, tasks[1].Enabled)
	require.Equal(t, now, tasks[1].Created)
	require.JSONEq(t, "5", string(tasks[1].Vars["x"].Value))
	_, ok, err := s.Template("t")
	require.NoError(t, err)
	require.True(t, ok)
	h, ok, err := s.Handler("cpu", "h")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "127.0.0.1:1", h.Options["address"])
	st, ok, err := s.AlertState("cpu", "cpu:nil")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "CRITICAL", st.Level)
	require.Equal(t, time.Minute, st.Time.Sub(st.EpisodeStart))
	u, ok, err := s.User("bob")
	require.NoError(t, err)
	require.True(t, ok && u.Admin)
}

func TestDeletes(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "x.db"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.DeleteTask("missing"))
	require.NoError(t, s.DeleteHandler("no-topic", "missing"))
	require.NoError(t, s.PutHandler(Handler{ID: "h", Topic: "cpu", Kind: "log"}))
	require.NoError(t, s.DeleteHandler("cpu", "h"))
	all, err := s.AllHandlers()
	require.NoError(t, err)
	require.Empty(t, all)
	require.NoError(t, s.PutAlertState("cpu", "a", AlertState{Level: "WARNING"}))
	require.NoError(t, s.PutAlertState("mem", "b", AlertState{Level: "WARNING"}))
	topics, err := s.AlertTopics()
	require.NoError(t, err)
	require.Equal(t, []string{"cpu", "mem"}, topics)
	require.NoError(t, s.DeleteAlertState("cpu", "a"))
	require.NoError(t, s.DeleteTopic("mem"))
	require.NoError(t, s.DeleteTopic("never"))
	topics, err = s.AlertTopics()
	require.NoError(t, err)
	require.Empty(t, topics)
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path)
	require.NoError(t, err)
	n, err := s.Schema()
	require.NoError(t, err)
	require.Equal(t, SchemaVersion, n)
	require.NoError(t, s.Close())

	// A file from a later tickrun is refused, not misread.
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("99"))
	}))
	require.NoError(t, db.Close())
	_, err = Open(path)
	require.ErrorIs(t, err, ErrNewerSchema)
}

func TestSecondOpenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	_, err = Open(path)
	require.ErrorContains(t, err, "locked by another process")
}

func TestLoadItems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, s.PutLoadItem(LoadItem{ID: "tasks/b", File: "/l/tasks/b.tick"}))
	require.NoError(t, s.PutLoadItem(LoadItem{ID: "handlers/cpu/h", File: "/l/handlers/h.yaml"}))
	require.NoError(t, s.PutLoadItem(LoadItem{ID: "tasks/b", File: "/l/tasks/b.yaml"}))
	require.NoError(t, s.Close())
	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	items, err := s.LoadItems()
	require.NoError(t, err)
	require.Equal(t, []LoadItem{{ID: "handlers/cpu/h", File: "/l/handlers/h.yaml"}, {ID: "tasks/b", File: "/l/tasks/b.yaml"}}, items)
	require.NoError(t, s.DeleteLoadItem("tasks/b"))
	require.NoError(t, s.DeleteLoadItem("tasks/never"))
	items, err = s.LoadItems()
	require.NoError(t, err)
	require.Equal(t, []LoadItem{{ID: "handlers/cpu/h", File: "/l/handlers/h.yaml"}}, items)
}
