package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this package writes. Open refuses a file
// written by a later version, and upgrades an earlier one in place.
const SchemaVersion = 1

// Buckets of the file. Handlers and alert states hold one nested bucket
// per topic.
var (
	bucketMeta      = []byte("meta")
	bucketTasks     = []byte("tasks")
	bucketTemplates = []byte("templates")
	bucketHandlers  = []byte("topic_handlers")
	bucketAlerts    = []byte("alert_states")
	bucketUsers     = []byte("users")
	bucketLoadItems = []byte("load_items")
	keySchema       = []byte("schema_version")
)

// ErrNewerSchema is returned by Open for a file written by a later tickrun.
var ErrNewerSchema = errors.New("the state file was written by a newer tickrun")

// Store is an open state file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens or creates the state file at path, creating its directory.
// A second process opening the same file waits up to a second for the
// lock and then fails, as two servers must not share one state.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s: locked by another process (is a server already running on this data dir?)", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init creates the buckets and checks or sets the schema version.
func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTasks, bucketTemplates, bucketHandlers, bucketAlerts, bucketUsers, bucketLoadItems} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keySchema)
		if v == nil {
			return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("%s: bad schema version %q", s.path, v)
		}
		if n > SchemaVersion {
			return fmt.Errorf("%s: %w (schema %d, this one reads up to %d)", s.path, ErrNewerSchema, n, SchemaVersion)
		}
		// Migrations from n to SchemaVersion go here, one step each.
		return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Schema returns the schema version stored in the file.
func (s *Store) Schema() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchema)))
		return err
	})
	return n, err
}

// put stores v as JSON under key in bucket b (nested under sub when not nil).
func (s *Store) put(b, sub []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b)
		if sub != nil {
			var err error
			if bk, err = bk.CreateBucketIfNotExists(sub); err != nil {
				return err
			}
		}
		return bk.Put([]byte(key), data)
	})
}

// get decodes the value under key into v; it reports whether there was one.
func (s *Store) get(b, sub []byte, key string, v any) (bool, error) {
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b)
		if sub != nil {
			if bk = bk.Bucket(sub); bk == nil {
				return nil
			}
		}
		data := bk.Get([]byte(key))
		if data == nil {
			return nil
		}
		found = true
		return json.Unmarshal(data, v)
	})
	return found, err
}

// del removes key; removing a missing key is not an error. An emptied
// nested bucket is removed too.
func (s *Store) del(b, sub []byte, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b)
		if sub != nil {
			parent := bk
			if bk = bk.Bucket(sub); bk == nil {
				return nil
			}
			if err := bk.Delete([]byte(key)); err != nil {
				return err
			}
			if k, _ := bk.Cursor().First(); k == nil {
				return parent.DeleteBucket(sub)
			}
			return nil
		}
		return bk.Delete([]byte(key))
	})
}

// each calls fn with every value of a bucket in key order.
func each(bk *bolt.Bucket, fn func(key, data []byte) error) error {
	if bk == nil {
		return nil
	}
	return bk.ForEach(func(k, v []byte) error {
		if v == nil { // a nested bucket
			return nil
		}
		return fn(k, v)
	})
}

// list decodes every value of bucket b (nested sub if not nil) with newT.
func list[T any](s *Store, b, sub []byte) ([]T, error) {
	var out []T
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b)
		if sub != nil {
			bk = bk.Bucket(sub)
		}
		return each(bk, func(_, data []byte) error {
			var v T
			if err := json.Unmarshal(data, &v); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	})
	return out, err
}

// subBuckets returns the names of the nested buckets of b, sorted.
func (s *Store) subBuckets(b []byte) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(b).ForEach(func(k, v []byte) error {
			if v == nil {
				out = append(out, string(k))
			}
			return nil
		})
	})
	sort.Strings(out)
	return out, err
}
