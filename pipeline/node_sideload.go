package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/handler"
)

// sideloadNode adds fields and tags to points from hierarchical data
// (Kapacitor sideload.go, services/sideload): .order() lists path
// templates, rendered with the point's tags ('hosts/{{.host}}.yml'); for
// each .field() and .tag() the first path whose data has the key gives the
// value, else the default. Values are converted to the default's type; a
// value that cannot be is logged and the default used.
//
// The source is a directory (file:///abs/path: every .yml, .yaml and
// .json file under it, keyed by its path relative to the directory), an
// http(s) URL answering one JSON (or application/yaml) document whose
// properties are the order paths, or the name of an [[httppost]] endpoint
// of kapacitor.conf. It is loaded when the task starts and again on
// Task.ReloadSideloads (Kapacitor's POST /sideload/reload).
type sideloadNode struct {
	nodeBase
	source string
	order  []*template.Template
	raw    []string              // the order templates as written
	fields map[string]eval.Value // field → default
	tags   map[string]string     // tag → default
	cache  map[string]map[string]any
	paths  []string // rendered order, reused
	tagMap map[string]string
	buf    bytes.Buffer
}

func init() {
	register(&Spec{
		Method: "sideload", Kind: "sideload", Doc: "adds fields and tags loaded from files or a URL, looked up by the point's tags",
		Wants: anyEdge, Provides: anyEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) {
			return &sideloadNode{fields: map[string]eval.Value{}, tags: map[string]string{}, tagMap: map[string]string{}}, nil
		},
		Props: []*Prop{
			propString("source", "file:///absolute/dir, an http(s) URL or an [[httppost]] endpoint name", func(n *sideloadNode, s string) error { n.source = s; return nil }),
			{Name: "order", Doc: "path templates searched in order ('host/{{.host}}.yml')", Variadic: argString,
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					n := x.(*sideloadNode)
					n.order, n.raw = nil, nil
					for _, v := range a {
						t, err := template.New("order").Parse(v.scalar.Str())
						if err != nil {
							return ast.Errorf(v.pos, "%v", err)
						}
						n.order = append(n.order, t)
						n.raw = append(n.raw, v.scalar.Str())
					}
					return nil
				}},
			{Name: "field", Doc: "a field to load and its default, whose type the value must have", Args: []argKind{argString, argScalar},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					x.(*sideloadNode).fields[a[0].scalar.Str()] = a[1].scalar
					return nil
				}},
			{Name: "tag", Doc: "a tag to load and its default", Args: []argKind{argString, argString},
				set: func(_ *binder, x node, _ *ast.Chain, a []value) error {
					x.(*sideloadNode).tags[a[0].scalar.Str()] = a[1].scalar.Str()
					return nil
				}},
		},
	})
}

func (n *sideloadNode) validate() error {
	if n.source == "" {
		return errors.New("sideload needs a source: .source('file:///path/to/dir')")
	}
	return nil
}

// start loads the source.
func (n *sideloadNode) start(t *Task) error {
	if t.opts.Config != nil && t.opts.Config.Lenient {
		return nil // tickrun check without a kapacitor.conf checks the script only
	}
	c, err := n.load(t)
	if err != nil {
		return err
	}
	n.cache = c
	return nil
}

// load reads the whole source.
func (n *sideloadNode) load(t *Task) (map[string]map[string]any, error) {
	target, headers := n.source, [][2]string(nil)
	if !strings.Contains(n.source, "://") {
		u, h, err := handler.Endpoint(t.opts.Config, n.source)
		if err != nil {
			return nil, err
		}
		target, headers = u, h
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		return loadSideloadDir(u.Path)
	case "http", "https":
		c, err := loadSideloadURL(target, headers)
		if err != nil {
			return nil, fmt.Errorf("Error fetching sideload data from %s :: %s", redactURL(u), err.Error()) //lint:ignore ST1005 Kapacitor's message
		}
		return c, nil
	}
	return nil, fmt.Errorf("unsupported source scheme %q, must be 'file', 'http', or 'https'", u.Scheme)
}

// redactURL drops credentials from a URL shown in an error.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

// loadSideloadDir reads every values file under dir, keyed by its path
// relative to dir (Kapacitor fileSource.updateCache).
func loadSideloadDir(dir string) (map[string]map[string]any, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("sideload source path must be absolute %q", dir)
	}
	dir = filepath.Clean(dir)
	cache := map[string]map[string]any{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		values := map[string]any{}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			if err := unmarshalYAMLValues(data, &values); err != nil {
				return fmt.Errorf("failed to unmarshal yaml values %q: %w", path, err)
			}
		case ".json":
			if err := json.Unmarshal(data, &values); err != nil {
				return fmt.Errorf("failed to unmarshal json values %q: %w", path, err)
			}
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		cache[filepath.ToSlash(rel)] = values
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to update sideload cache for source file %q: %w", dir, err)
	}
	return cache, nil
}

// unmarshalYAMLValues decodes YAML as Kapacitor does (through JSON):
// numbers are floats.
func unmarshalYAMLValues[T any](data []byte, out *T) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// jsonable turns YAML's map[any]any into map[string]any.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonable(x)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range v {
			v[i] = jsonable(x)
		}
	}
	return v
}

// loadSideloadURL GETs one document of order path → values.
func loadSideloadURL(target string, headers [][2]string) (map[string]map[string]any, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	typ, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	values := map[string]map[string]any{}
	if typ == "application/yaml" {
		err = unmarshalYAMLValues(data, &values)
	} else {
		err = json.Unmarshal(data, &values)
	}
	return values, err
}

// lookup returns the value of key in the first rendered order path having it.
func (n *sideloadNode) lookup(key string) (any, bool) {
	key = filepath.Clean(key)
	for _, p := range n.paths {
		if v, ok := n.cache[p][key]; ok {
			return v, true
		}
	}
	return nil, false
}

// render evaluates the order templates with the point's tags.
func (n *sideloadNode) render(tags []Tag) bool {
	clear(n.tagMap)
	for _, t := range tags {
		n.tagMap[t.Key] = t.Value
	}
	n.paths = n.paths[:0]
	for i, t := range n.order {
		n.buf.Reset()
		if err := t.Execute(&n.buf, n.tagMap); err != nil {
			n.fail("failed to evaluate order template", err, "order", n.raw[i])
			return false
		}
		n.paths = append(n.paths, n.buf.String())
	}
	return true
}

// apply sets the loaded fields and tags on q, which the node owns.
func (n *sideloadNode) apply(q *Point) {
	if !n.render(q.Tags) {
		return
	}
	for _, key := range sortedKeys(n.fields) {
		dflt := n.fields[key]
		v := dflt
		if raw, ok := n.lookup(key); ok {
			c, err := convertSideload(raw, dflt.Kind)
			if err != nil {
				n.fail("failed to load key", err, "key", key, "expected", goTypeName(dflt.Kind), "got", fmt.Sprintf("%T", raw))
			} else {
				v = c
			}
		}
		q.SetField(key, v)
	}
	for _, key := range sortedKeys(n.tags) {
		v := n.tags[key]
		if raw, ok := n.lookup(key); ok {
			c, err := convertSideload(raw, eval.String)
			if err != nil {
				n.fail("failed to load key", err, "key", key, "expected", "string", "got", fmt.Sprintf("%T", raw))
			} else {
				v = c.Str()
			}
		}
		q.SetTag(key, v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// convertSideload converts a loaded value to kind as Kapacitor's
// convertType does.
func convertSideload(src any, kind eval.Kind) (eval.Value, error) {
	switch kind {
	case eval.Int:
		switch s := src.(type) {
		case float64:
			if i := int64(s); float64(i) == s {
				return eval.IntValue(i), nil
			}
		case string:
			i, err := strconv.Atoi(s)
			if err != nil {
				return eval.Value{}, fmt.Errorf("cannot convert string to int64: %w", err)
			}
			return eval.IntValue(int64(i)), nil
		}
	case eval.Float:
		switch s := src.(type) {
		case float64:
			return eval.FloatValue(s), nil
		case string:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return eval.Value{}, fmt.Errorf("cannot convert string to float64: %w", err)
			}
			return eval.FloatValue(f), nil
		}
	case eval.Bool:
		switch s := src.(type) {
		case bool:
			return eval.BoolValue(s), nil
		case string:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return eval.Value{}, fmt.Errorf("cannot convert string to bool: %w", err)
			}
			return eval.BoolValue(b), nil
		}
	case eval.String:
		switch s := src.(type) {
		case float64:
			return eval.StringValue(strconv.FormatFloat(s, 'f', -1, 64)), nil
		case bool:
			return eval.StringValue(strconv.FormatBool(s)), nil
		case string:
			return eval.StringValue(s), nil
		}
	}
	return eval.Value{}, fmt.Errorf("cannot convert value of type %s to type %s", jsonTypeName(src), goTypeName(kind))
}

// jsonTypeName names a decoded value's type as Go's %T does.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "<nil>"
	case map[string]any:
		return "map[string]interface {}"
	case []any:
		return "[]interface {}"
	}
	return fmt.Sprintf("%T", v)
}

func (n *sideloadNode) point(p *Point) {
	q := &n.scratch
	q.CopyFrom(p)
	n.apply(q)
	n.emit(q)
}

func (n *sideloadNode) batch(b *Batch) {
	n.emitEach(b, func(_ int, p *Point) *Point {
		q := p.Clone()
		n.apply(q)
		return q
	})
}

// ReloadSideloads reads the sources of the task's sideload nodes again
// (Kapacitor's POST /kapacitor/v1/sideload/reload). A source that fails to
// load keeps its previous data and the error is returned.
func (t *Task) ReloadSideloads() error {
	var errs []error
	for _, x := range t.nodes {
		n, ok := x.(*sideloadNode)
		if !ok {
			continue
		}
		c, err := n.load(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to update source %q: %w", n.source, err))
			continue
		}
		t.mu.Lock()
		n.cache = c
		t.mu.Unlock()
	}
	return errors.Join(errs...)
}

var (
	_ batchNode = (*sideloadNode)(nil)
	_ starter   = (*sideloadNode)(nil)
	_ validator = (*sideloadNode)(nil)
)
