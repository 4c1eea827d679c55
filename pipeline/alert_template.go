package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
)

// The data templates see, with Kapacitor's field names and order: the
// default details template is `{{ json . }}` of detailsInfo, so the order
// of fields here is the order of keys in that JSON (alert.md §8).

type serverInfo struct {
	Hostname  string
	ClusterID string
	ServerID  string
}

type idInfo struct {
	Name       string
	TaskName   string
	Group      string
	Tags       map[string]string
	ServerInfo serverInfo
}

type messageInfo struct {
	idInfo
	ID       string
	Fields   map[string]interface{}
	Level    string
	Time     time.Time
	Duration time.Duration
}

type detailsInfo struct {
	messageInfo
	Message string
}

// The defaults of .id(), .message() and .details().
const (
	defaultIDTemplate      = "{{ .Name }}:{{ .Group }}"
	defaultMessageTemplate = "{{ .ID }} is {{ .Level }}"
	defaultDetailsTemplate = "{{ json . }}"
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

// alertTemplates are the three templates of an alert node. A template left
// at its default is rendered without text/template, which is much faster.
type alertTemplates struct {
	id, message           *texttemplate.Template
	details               *htmltemplate.Template
	idDefault, msgDefault bool
	noDetails             bool   // .details('')
	detailsDefault        bool   // {{ json . }}
	idText, msgText       string // the template when it has no action, else ""
	enc                   *json.Encoder
	buf                   bytes.Buffer
}

// templateError is a problem of one of the three templates (0 id, 1
// message, 2 details), worded without Go type names.
type templateError struct {
	which int
	err   error
}

var cannotEvaluate = regexp.MustCompile(`can't evaluate field (\w+) in type \*?[\w.]+`)

func (e *templateError) Error() string {
	msg := e.err.Error()
	if m := cannotEvaluate.FindStringSubmatch(msg); m != nil {
		avail := [...]string{
			".Name .TaskName .Group .Tags .ServerInfo",
			".Name .TaskName .Group .Tags .ServerInfo .ID .Fields .Level .Time .Duration",
			".Name .TaskName .Group .Tags .ServerInfo .ID .Fields .Level .Time .Duration .Message",
		}[e.which]
		var names []string
		for _, f := range strings.Fields(avail) {
			names = append(names, strings.TrimPrefix(f, "."))
		}
		msg = strings.Replace(msg, m[0], fmt.Sprintf(".%s is not available in the %s template (it has %s)%s", m[1], [...]string{"id", "message", "details"}[e.which], avail, suggest(m[1], names)), 1)
	}
	return msg
}

func parseAlertTemplates(id, message, details string) (*alertTemplates, error) {
	t := &alertTemplates{idDefault: id == defaultIDTemplate, msgDefault: message == defaultMessageTemplate,
		noDetails: details == "", detailsDefault: details == defaultDetailsTemplate}
	if !strings.Contains(id, "{{") {
		t.idText = id
	}
	if !strings.Contains(message, "{{") {
		t.msgText = message
	}
	t.enc = json.NewEncoder(&t.buf)
	var err error
	if t.id, err = texttemplate.New("id").Parse(id); err != nil {
		return nil, &templateError{0, err}
	}
	if t.message, err = texttemplate.New("message").Parse(message); err != nil {
		return nil, &templateError{1, err}
	}
	if t.details, err = htmltemplate.New("details").Funcs(detailsFuncs).Parse(details); err != nil {
		return nil, &templateError{2, err}
	}
	return t, nil
}

// check executes the templates once on empty data, to report at compile
// time what Kapacitor only finds when an event is rendered, such as
// `.Fields` in the id template (which stops a Kapacitor task).
func (t *alertTemplates) check() error {
	var d detailsInfo
	for i, run := range []func() error{
		func() error { return t.id.Execute(&t.buf, &d.idInfo) },
		func() error { return t.message.Execute(&t.buf, &d.messageInfo) },
		func() error { return t.details.Execute(&t.buf, &d) },
	} {
		t.buf.Reset()
		if err := run(); err != nil && strings.Contains(err.Error(), "can't evaluate field") {
			return &templateError{i, err}
		}
	}
	return nil
}

func (t *alertTemplates) renderID(info *idInfo) (string, error) {
	if t.idDefault {
		return info.Name + ":" + info.Group, nil
	}
	if t.idText != "" {
		return t.idText, nil
	}
	t.buf.Reset()
	err := t.id.Execute(&t.buf, info)
	return t.buf.String(), err
}

func (t *alertTemplates) renderMessage(info *messageInfo) (string, error) {
	if t.msgDefault {
		return info.ID + " is " + info.Level, nil
	}
	if t.msgText != "" {
		return t.msgText, nil
	}
	t.buf.Reset()
	err := t.message.Execute(&t.buf, info)
	return t.buf.String(), err
}

func (t *alertTemplates) renderDetails(info *detailsInfo) (string, error) {
	if t.noDetails {
		return "", nil
	}
	t.buf.Reset()
	if t.detailsDefault {
		// What {{ json . }} renders in html/template, without executing a
		// template: JSON with a newline, then the escaping of HTML text
		// (encoding/json already wrote <, > and & as \u003c...).
		if err := t.enc.Encode(info); err != nil {
			return "", err
		}
		return htmlTextEscaper.Replace(t.buf.String()), nil
	}
	err := t.details.Execute(&t.buf, info)
	return t.buf.String(), err
}

// htmlTextEscaper escapes what html/template escapes in text, for the
// characters JSON output can still contain.
var htmlTextEscaper = strings.NewReplacer(`"`, "&#34;", `'`, "&#39;", "+", "&#43;", "&", "&amp;", "<", "&lt;", ">", "&gt;", "\x00", "\uFFFD")
