package handler

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
)

// eventData is what the templates of handler options see (an MQTT topic,
// Alerta's resource, SNMP trap values, Sensu's source): the data
// Kapacitor's services give their templates (alert.Event.TemplateData in
// Kapacitor), with the same field names.
type eventData struct {
	ID       string
	Message  string
	Level    string
	Time     time.Time
	Duration time.Duration
	Name     string
	TaskName string
	Group    string
	Tags     map[string]string
	Fields   map[string]interface{}
}

// newEventData returns the template data of an event.
func newEventData(ev *alert.Event) *eventData {
	return &eventData{
		ID: ev.ID, Message: ev.Message, Level: ev.Level.String(), Time: time.Unix(0, ev.Time).UTC(), Duration: ev.Duration,
		Name: ev.Data.Name, TaskName: ev.TaskName, Group: ev.Group, Tags: eventTags(ev), Fields: eventFields(ev),
	}
}

// eventTags returns the tags of an event's data as a map.
func eventTags(ev *alert.Event) map[string]string {
	m := make(map[string]string, len(ev.Data.Tags))
	for _, t := range ev.Data.Tags {
		m[t.Key] = t.Value
	}
	return m
}

// eventFields returns the fields of the point that triggered an event.
func eventFields(ev *alert.Event) map[string]interface{} {
	fields := ev.TriggerFields()
	m := make(map[string]interface{}, len(fields))
	for _, f := range fields {
		m[f.Key] = f.Value.Interface()
	}
	return m
}

// cannotEvaluateType finds the Go type text/template names when a field
// does not exist, which users should not see.
var cannotEvaluateType = regexp.MustCompile(`can't evaluate field (\w+) in type \*?[\w.]+`)

// execAt is where text/template says an execution failed.
var execAt = regexp.MustCompile(`^[^:]*:(\d+):(\d+): executing "[^"]*" at <[^>]*>: `)

// templateExecError words an execution error of text/template without Go
// type names: "can't evaluate field Feild (at 1:3)".
func templateExecError(msg string) string {
	at := ""
	if m := execAt.FindStringSubmatch(msg); m != nil {
		msg, at = msg[len(m[0]):], " (at "+m[1]+":"+m[2]+")"
	}
	return cannotEvaluateType.ReplaceAllString(msg, "can't evaluate field $1") + at
}

// maxTemplateOutput bounds what one option template may render for one
// event; an event over it is dropped, as one whose template fails.
const maxTemplateOutput = 1 << 20

// optTemplate is an option whose value is a text/template (Kapacitor
// renders these options per event).
type optTemplate struct {
	option string
	t      *template.Template
	text   string // the text, when it has no action: no need to execute
}

// parseOptTemplate parses the template of an option and executes it once
// on sample, an empty value of what it will see, so that a field that
// does not exist (.Feilds) is an error now rather than for every event;
// errors start with the option's name.
func parseOptTemplate(option, text string, sample any) (*optTemplate, error) {
	t, err := template.New(option).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", option, strings.TrimPrefix(err.Error(), "template: "))
	}
	ot := &optTemplate{option: option, t: t}
	if !strings.Contains(text, "{{") {
		ot.text = text
		return ot, nil
	}
	if _, err := ot.render(sample); err != nil && strings.Contains(err.Error(), "can't evaluate field") {
		return nil, err
	}
	return ot, nil
}

// render executes the template on data.
func (t *optTemplate) render(data any) (string, error) {
	if t == nil {
		return "", nil
	}
	if t.text != "" {
		return t.text, nil
	}
	w := &boundedBuffer{max: maxTemplateOutput}
	if err := t.t.Execute(w, data); err != nil {
		msg := strings.TrimPrefix(err.Error(), "template: ")
		return "", fmt.Errorf("%s: %s", t.option, templateExecError(msg))
	}
	return w.String(), nil
}

// boundedBuffer is a buffer that fails past max bytes.
type boundedBuffer struct {
	bytes.Buffer
	max int
}

var errTemplateTooLong = errors.New("template output too long")

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("%w (over %d bytes)", errTemplateTooLong, b.max)
	}
	return b.Buffer.Write(p)
}

// templates parses the options of names that are templates, checked on
// sample; options that are unset get nil (rendering "").
func (o opts) templates(sample any, names ...string) (map[string]*optTemplate, error) {
	out := map[string]*optTemplate{}
	for _, name := range names {
		s, err := o.string(name, false)
		if err != nil {
			return nil, err
		}
		if s == "" {
			continue
		}
		if out[name], err = parseOptTemplate(name, s, sample); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// renderPartial executes the template on data and returns what it wrote,
// even when it failed: the ServiceNow and Zenoss services of Kapacitor
// ignore the errors of their templates.
func (t *optTemplate) renderPartial(data any) string {
	if t == nil {
		return ""
	}
	if t.text != "" {
		return t.text
	}
	w := &boundedBuffer{max: maxTemplateOutput}
	_ = t.t.Execute(w, data)
	return w.String()
}

// cutoff cuts s to at most n bytes, as Kapacitor's services do (even
// inside a character, which JSON then encodes as U+FFFD).
func cutoff(s string, n int) string { return s[:min(n, len(s))] }
