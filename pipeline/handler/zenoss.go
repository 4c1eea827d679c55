package handler

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The zenoss kind sends each event to a Zenoss router as Kapacitor's
// zenoss service does: {action, method, data: [{collector, component,
// device, evclass, evclasskey, message, severity, summary, and the custom
// fields}], type, tid}, the severity from severity-map by level, the
// summary the message when empty (cut at 256 bytes, the message at 4096),
// summary, device, component, evclasskey, evclass, collector, message and
// string custom fields templates over .Name .TaskName .ID .Message
// .Details .Time .Duration .Level .Recoverable .Tags, custom fields that
// hold JSON objects or arrays sent as JSON, HTTP basic auth when username
// and password are set.
//
// In handler files the event class options are eventclasskey and
// eventclass: Kapacitor decodes them by their Go field names (its docs
// say evclasskey and evclass, which Kapacitor rejects); in scripts they
// are .evclasskey() and .evclass().
func init() {
	register(&Kind{
		Name: "zenoss", Doc: "sends each event to a Zenoss events router",
		Property: &Property{Name: "zenoss"},
		Options: []Option{
			{Name: "action", Type: String, Doc: "the router name", Default: "action of [zenoss]", Prop: "action"},
			{Name: "method", Type: String, Doc: "the router method", Default: "method of [zenoss]", Prop: "method"},
			{Name: "type", Type: String, Doc: "the event type", Default: "type of [zenoss]", Prop: "type"},
			{Name: "tid", Type: Int, Doc: "the request's transaction id", Default: "tid of [zenoss]", Prop: "tid"},
			{Name: "summary", Type: String, Doc: "the event's summary (a template)", Default: "the message", Prop: "summary"},
			{Name: "device", Type: String, Doc: "the device (a template)", Prop: "device"},
			{Name: "component", Type: String, Doc: "the component (a template)", Prop: "component"},
			{Name: "eventclasskey", Type: String, Doc: "the event class key (a template)", Prop: "evclasskey"},
			{Name: "eventclass", Type: String, Doc: "the event class (a template)", Prop: "evclass"},
			{Name: "collector", Type: String, Doc: "the collector (a template)", Default: "collector of [zenoss]", Prop: "collector"},
			{Name: "message", Type: String, Doc: "the event's message (a template)", Prop: "message"},
			{Name: "customField", Type: Values, Doc: "custom fields (string values are templates)", Prop: "customField"},
		},
		Section: "zenoss", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool,
			"url": kapconf.String, "username": kapconf.String, "password": kapconf.Secret, "action": kapconf.String, "method": kapconf.String,
			"type": kapconf.String, "tid": kapconf.Int, "collector": kapconf.String, "severity-map": kapconf.Any},
			Defaults: map[string]any{"url": "https://tenant.zenoss.io:8080/zport/dmd/evconsole_router", "action": "EventsRouter",
				"method": "add_event", "type": "rpc", "tid": int64(1), "collector": "Kapacitor"}},
		check: func(o opts) error {
			_, err := zenossTemplates(o)
			return err
		},
		open: webhookKind(zenossRequest),
	})
}

// zenossData is what the zenoss kind's templates see.
type zenossData struct {
	Name        string
	TaskName    string
	ID          string
	Message     string
	Details     string
	Time        time.Time
	Duration    time.Duration
	Level       alert.Level
	Recoverable bool
	Tags        map[string]string
}

func zenossTemplates(o opts) (map[string]*optTemplate, error) {
	ts, err := o.templates(&zenossData{}, "summary", "device", "component", "eventclasskey", "eventclass", "collector", "message")
	if err != nil {
		return nil, err
	}
	fields, err := o.values("customField")
	if err != nil {
		return nil, err
	}
	for k, v := range fields {
		if s, ok := v.(string); ok {
			if ts["customField."+k], err = parseOptTemplate("customField", s, &zenossData{}); err != nil {
				return nil, err
			}
		}
	}
	return ts, nil
}

// zenossSeverities are Kapacitor's defaults of [zenoss] severity-map.
var zenossSeverities = map[string]any{"OK": "Clear", "Info": "Info", "Warning": "Warning", "Critical": "Critical"}

func zenossRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("zenoss", "")
	if err != nil {
		return nil, err
	}
	u := c.String("url")
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("[zenoss] url: want an http:// or https:// URL")
	}
	severities := map[alert.Level]any{}
	configured, _ := c.Value("severity-map").(map[string]any)
	for i, name := range []string{"OK", "Info", "Warning", "Critical"} {
		v, ok := configured[name]
		if !ok {
			v = zenossSeverities[name]
		}
		switch v.(type) {
		case string, int64, float64:
		default:
			return nil, fmt.Errorf("[zenoss] severity-map: %s: want a string or a number", name)
		}
		severities[alert.Level(i)] = v
	}
	ts, _ := zenossTemplates(o)
	fields, _ := o.values("customField")
	action, method, typ := o.or("action", c.String("action")), o.or("method", c.String("method")), o.or("type", c.String("type"))
	tid, _ := o.int("tid", 0)
	if tid == 0 {
		tid = c.Int("tid")
	}
	collector := c.String("collector")
	var headers [][2]string
	if user, pass := c.String("username"), c.String("password"); user != "" && pass != "" {
		headers = append(headers, [2]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))})
	}
	type request struct {
		Action string           `json:"action"`
		Method string           `json:"method"`
		Data   []map[string]any `json:"data"`
		Type   string           `json:"type"`
		TID    int64            `json:"tid"`
	}
	return &webhook{url: u, target: redactURL(u), headers: headers, body: func(ev *alert.Event, _ []byte) ([]byte, error) {
		d := &zenossData{Name: ev.Data.Name, TaskName: ev.TaskName, ID: ev.ID, Message: ev.Message, Details: ev.Details,
			Time: time.Unix(0, ev.Time).UTC(), Duration: ev.Duration, Level: ev.Level, Recoverable: ev.Recoverable, Tags: eventTags(ev)}
		r := func(name string) string { return ts[name].renderPartial(d) }
		summary := r("summary")
		if summary == "" {
			summary = ev.Message
		}
		coll := r("collector")
		if coll == "" {
			coll = collector
		}
		data := map[string]any{"summary": cutoff(summary, 256), "device": r("device"), "component": r("component"),
			"severity": severities[ev.Level], "evclasskey": r("eventclasskey"), "evclass": r("eventclass")}
		if coll != "" {
			data["collector"] = coll
		}
		if msg := cutoff(r("message"), 4096); msg != "" {
			data["message"] = msg
		}
		for k, v := range fields {
			if t := ts["customField."+k]; t != nil {
				v = t.renderPartial(d)
			}
			if s, ok := v.(string); ok && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
				var js any
				if json.Unmarshal([]byte(s), &js) == nil {
					v = js
				}
			}
			data[k] = v
		}
		return encodeJSON(request{Action: action, Method: method, Data: []map[string]any{data}, Type: typ, TID: tid}, false)
	}}, nil
}
