package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/models"
)

// The data templates see, with Kapacitor's field names and order: the
// default details template is `{{ json . }}` of DetailsInfo, so the order
// of fields here is the order of keys in that JSON (alert.md §8).

// ServerInfo is the server identity the default details show (and
// Kapacitor's templates can read as .ServerInfo).
type ServerInfo struct {
	Hostname  string
	ClusterID string
	ServerID  string
}

// IDInfo is what the id template sees.
type IDInfo struct {
	Name       string
	TaskName   string
	Group      string
	Tags       map[string]string
	ServerInfo ServerInfo
}

// MessageInfo is what the message template sees.
type MessageInfo struct {
	IDInfo
	ID       string
	Fields   map[string]interface{}
	Level    string
	Time     time.Time
	Duration time.Duration
}

// DetailsInfo is what the details template sees; `{{ json . }}` of it is
// the default details.
type DetailsInfo struct {
	MessageInfo
	Message string
}

// The defaults of .id(), .message() and .details().
const (
	DefaultIDTemplate      = "{{ .Name }}:{{ .Group }}"
	DefaultMessageTemplate = "{{ .ID }} is {{ .Level }}"
	DefaultDetailsTemplate = "{{ json . }}"
)

// detailsFuncs are the functions only the details template has.
var detailsFuncs = htmltemplate.FuncMap{
	"json": func(v interface{}) (string, error) {
		var b bytes.Buffer
		err := json.NewEncoder(&b).Encode(v)
		return b.String(), err
	},
	"jsonCompact": func(v interface{}) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// Templates are the three templates of an alert node. A template left
// at its default is rendered without text/template, which is much faster.
type Templates struct {
	id, message           *texttemplate.Template
	details               *htmltemplate.Template
	idDefault, msgDefault bool
	noDetails             bool   // .details('')
	detailsDefault        bool   // {{ json . }}
	idText, msgText       string // the template when it has no action, else ""
	w                     limitWriter
	limits                Limits
	jbuf, hbuf            []byte // the default details: JSON, then escaped
}

// TemplateError is a problem of one of the three templates (0 id, 1
// message, 2 details), worded without Go type names.
type TemplateError struct {
	Which int // 0 id, 1 message, 2 details
	Err   error
}

var cannotEvaluate = regexp.MustCompile(`can't evaluate field (\w+) in type \*?[\w.]+`)

// Unwrap returns the template's error.
func (e *TemplateError) Unwrap() error { return e.Err }

// Error words the template's problem without Go type names.
func (e *TemplateError) Error() string {
	msg := e.Err.Error()
	if m := cannotEvaluate.FindStringSubmatch(msg); m != nil {
		avail := [...]string{
			".Name .TaskName .Group .Tags .ServerInfo",
			".Name .TaskName .Group .Tags .ServerInfo .ID .Fields .Level .Time .Duration",
			".Name .TaskName .Group .Tags .ServerInfo .ID .Fields .Level .Time .Duration .Message",
		}[e.Which]
		var names []string
		for _, f := range strings.Fields(avail) {
			names = append(names, strings.TrimPrefix(f, "."))
		}
		msg = strings.Replace(msg, m[0], fmt.Sprintf(".%s is not available in the %s template (it has %s)%s", m[1], [...]string{"id", "message", "details"}[e.Which], avail, ast.Suggest(m[1], names)), 1)
	}
	return msg
}

// ParseTemplates parses the id, message and details templates of an
// alert node; an error is a *TemplateError saying which one failed.
func ParseTemplates(id, message, details string) (*Templates, error) {
	t := &Templates{idDefault: id == DefaultIDTemplate, msgDefault: message == DefaultMessageTemplate,
		noDetails: details == "", detailsDefault: details == DefaultDetailsTemplate}
	if !strings.Contains(id, "{{") {
		t.idText = id
	}
	if !strings.Contains(message, "{{") {
		t.msgText = message
	}
	var err error
	if t.id, err = texttemplate.New("id").Parse(id); err != nil {
		return nil, &TemplateError{Which: 0, Err: err}
	}
	if t.message, err = texttemplate.New("message").Parse(message); err != nil {
		return nil, &TemplateError{Which: 1, Err: err}
	}
	if t.details, err = htmltemplate.New("details").Funcs(detailsFuncs).Parse(details); err != nil {
		return nil, &TemplateError{Which: 2, Err: err}
	}
	for i, trees := range []map[string]*parse.Tree{textTrees(t.id), textTrees(t.message), htmlTrees(t.details)} {
		if err := checkTrees(trees, [...]string{"id", "message", "details"}[i]); err != nil {
			return nil, &TemplateError{Which: i, Err: err}
		}
	}
	t.limits = DefaultLimits
	return t, nil
}

// SetLimits sets the bounds of rendering one template for one event
// (zero values take the defaults).
func (t *Templates) SetLimits(l Limits) { t.limits = l.withDefaults() }

func textTrees(t *texttemplate.Template) map[string]*parse.Tree {
	m := map[string]*parse.Tree{}
	for _, x := range t.Templates() {
		m[x.Name()] = x.Tree
	}
	return m
}

func htmlTrees(t *htmltemplate.Template) map[string]*parse.Tree {
	m := map[string]*parse.Tree{}
	for _, x := range t.Templates() {
		m[x.Name()] = x.Tree
	}
	return m
}

// exec runs one template under the limits and returns its output.
func (t *Templates) exec(run func(w io.Writer) error) (string, error) {
	t.w.reset(t.limits)
	err := run(&t.w)
	return t.w.buf.String(), err
}

// Check executes the templates once on an empty event, under the same
// limits as every event, to report at compile time what Kapacitor only
// finds when an event is rendered, such as `.Fields` in the id template
// (which stops a Kapacitor task), or output that is over the limits
// whatever the data.
func (t *Templates) Check() error {
	var d DetailsInfo
	for i, run := range []func(w io.Writer) error{
		func(w io.Writer) error { return t.id.Execute(w, &d.IDInfo) },
		func(w io.Writer) error { return t.message.Execute(w, &d.MessageInfo) },
		func(w io.Writer) error { return t.details.Execute(w, &d) },
	} {
		_, err := t.exec(run)
		if err != nil && (strings.Contains(err.Error(), "can't evaluate field") || errors.Is(err, ErrTemplateLimit)) {
			return &TemplateError{Which: i, Err: err}
		}
	}
	return nil
}

// RenderID renders the event id. Templates reuse a buffer: they are not
// safe for concurrent use (an alert node renders from one goroutine).
func (t *Templates) RenderID(info *IDInfo) (string, error) {
	if t.idDefault {
		return info.Name + ":" + info.Group, nil
	}
	if t.idText != "" {
		return t.idText, nil
	}
	return t.exec(func(w io.Writer) error { return t.id.Execute(w, info) })
}

// RenderMessage renders the event message.
func (t *Templates) RenderMessage(info *MessageInfo) (string, error) {
	if t.msgDefault {
		return info.ID + " is " + info.Level, nil
	}
	if t.msgText != "" {
		return t.msgText, nil
	}
	return t.exec(func(w io.Writer) error { return t.message.Execute(w, info) })
}

// RenderDetails renders the details of info. Its Tags and Fields maps hold
// tags and fields (sorted by key) unless simple() says no template reads
// them: the default details are written from the slices.
func (t *Templates) RenderDetails(info *DetailsInfo, tags []models.Tag, fields []models.Field) (string, error) {
	if t.noDetails {
		return "", nil
	}
	if t.detailsDefault {
		// What {{ json . }} renders in html/template, without executing a
		// template: JSON with a newline, then the escaping of HTML text
		// (the JSON already has <, > and & as \u003c...).
		if b, ok := appendDetailsJSON(t.jbuf[:0], info, tags, fields); ok {
			t.jbuf = b
			t.hbuf = appendHTMLText(t.hbuf[:0], b)
			return string(t.hbuf), nil
		}
		// A NaN or an infinity: the template itself, for its error.
		FillInfoMaps(info, tags, fields)
	}
	return t.exec(func(w io.Writer) error { return t.details.Execute(w, info) })
}

// Simple reports whether the id and message render without templates and
// the details are the default or empty: then no template reads the Tags
// and Fields maps, and events need not build them.
func (t *Templates) Simple() bool {
	return (t.idDefault || t.idText != "") && (t.msgDefault || t.msgText != "") && (t.detailsDefault || t.noDetails)
}

// FillInfoMaps sets the Tags and Fields maps templates read.
func FillInfoMaps(info *DetailsInfo, tags []models.Tag, fields []models.Field) {
	info.Tags = make(map[string]string, len(tags))
	for _, t := range tags {
		info.Tags[t.Key] = t.Value
	}
	info.Fields = make(map[string]interface{}, len(fields))
	for _, f := range fields {
		info.Fields[f.Key] = f.Value.Interface()
	}
}

// appendDetailsJSON appends what encoding/json's Encoder writes for info
// (keys in DetailsInfo's field order, map keys sorted, a final newline),
// taking the maps' contents from tags and fields. It returns false for
// what encoding/json rejects (a NaN or infinite field) and for keys that
// are not sorted and unique, which the slices of a point always are.
func appendDetailsJSON(b []byte, info *DetailsInfo, tags []models.Tag, fields []models.Field) ([]byte, bool) {
	if !models.TagsSorted(tags) || !models.FieldsSorted(fields) {
		return b, false
	}
	str := func(key, v string) {
		b = append(b, key...)
		b = models.AppendJSONString(b, v)
	}
	str(`{"Name":`, info.Name)
	str(`,"TaskName":`, info.TaskName)
	str(`,"Group":`, info.Group)
	b = append(b, `,"Tags":`...)
	b = models.AppendJSONTags(b, tags)
	str(`,"ServerInfo":{"Hostname":`, info.ServerInfo.Hostname)
	str(`,"ClusterID":`, info.ServerInfo.ClusterID)
	str(`,"ServerID":`, info.ServerInfo.ServerID)
	str(`},"ID":`, info.ID)
	b = append(b, `,"Fields":{`...)
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = models.AppendJSONString(b, f.Key)
		b = append(b, ':')
		var ok bool
		if b, ok = models.AppendJSONValue(b, f.Value); !ok {
			return b, false
		}
	}
	str(`},"Level":`, info.Level)
	b = append(b, `,"Time":`...)
	b = append(info.Time.AppendFormat(append(b, '"'), time.RFC3339Nano), '"')
	b = append(b, `,"Duration":`...)
	b = strconv.AppendInt(b, int64(info.Duration), 10)
	str(`,"Message":`, info.Message)
	return append(b, "}\n"...), true
}

// appendHTMLText appends s escaped as html/template escapes text, for the
// characters JSON output can contain.
func appendHTMLText(b, s []byte) []byte {
	start := 0
	for i, c := range s {
		var esc string
		switch c {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '+':
			esc = "&#43;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		b = append(append(b, s[start:i]...), esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}
