package handler

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The alerta kind posts each event to Alerta's API (url/alert) as
// Kapacitor's alerta service does, with "Authorization: <token-prefix>
// <token>" and {attributes, correlate, environment, event, group, origin,
// rawData (the data), resource, service, severity, tags ("key=value",
// sorted), text (the message), timeout (seconds), value}. resource,
// environment, group, value, and each service and correlate entry are
// templates over the event (.ID .Message .Level .Time .Duration .Name
// .TaskName .Group .Tags .Fields); event is a template over .ID .Name
// .TaskName .Group .Tags. service and correlate default to the
// measurement. The severity is ok, informational, warning or critical,
// renamed by rename-severities (keys ok, info, warn, crit).
func init() {
	register(&Kind{
		Name: "alerta", Doc: "posts each event as an alert to Alerta",
		Property: &Property{Name: "alerta"},
		Options: []Option{
			{Name: "token", Type: String, Doc: "the API token", Default: "token of [alerta]", Prop: "token"},
			{Name: "token-prefix", Type: String, Doc: "the word before the token in the Authorization header", Default: "token-prefix of [alerta], else Bearer", Prop: "tokenPrefix"},
			{Name: "resource", Type: String, Doc: "the resource (a template)", Default: "{{ .Name }}", Prop: "resource"},
			{Name: "event", Type: String, Doc: "the event (a template)", Default: "{{ .ID }}", Prop: "event"},
			{Name: "environment", Type: String, Doc: "the environment (a template)", Default: "environment of [alerta]", Prop: "environment"},
			{Name: "group", Type: String, Doc: "the group (a template)", Default: "{{ .Group }}", Prop: "group"},
			{Name: "value", Type: String, Doc: "the value (a template)", Prop: "value"},
			{Name: "origin", Type: String, Doc: "the origin", Default: "origin of [alerta]", Prop: "origin"},
			{Name: "service", Type: Strings, Doc: "the services affected (templates)", Default: "the measurement", Prop: "services", Also: []string{"service"}},
			{Name: "correlate", Type: Strings, Doc: "related events (templates)", Default: "the measurement", Prop: "correlated", Also: []string{"correlate"}},
			{Name: "timeout", Type: Duration, Doc: "how long Alerta keeps the alert open", Default: "24h", Prop: "timeout"},
			{Name: "attributes", Type: Values, Doc: "attributes of the alert", Prop: "attribute"},
			{Name: "rename-severities", Type: Map, Doc: "other names for the severities ok, info, warn, crit", Prop: "renameSeverity"},
		},
		Section: "alerta",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "url": kapconf.URL, "insecure-skip-verify": kapconf.Bool,
			"token": kapconf.Secret, "token-prefix": kapconf.String, "environment": kapconf.String, "origin": kapconf.String},
			Lenient: map[string]any{"url": "http://127.0.0.1/"}},
		check: func(o opts) error {
			_, err := alertaTemplates(o)
			return err
		},
		open: webhookKind(alertaRequest),
	})
}

// alertaSeverities are Alerta's severity of each level, and the level's
// key in rename-severities.
var alertaSeverities = map[alert.Level][2]string{alert.OK: {"ok", "ok"}, alert.Info: {"informational", "info"},
	alert.Warning: {"warning", "warn"}, alert.Critical: {"critical", "crit"}}

// alertaEventData is what the event template sees.
type alertaEventData struct {
	ID       string
	Name     string
	TaskName string
	Group    string
	Tags     map[string]string
}

// alertaDefaults are Kapacitor's defaults of the templates.
var alertaDefaults = map[string]string{"resource": "{{ .Name }}", "event": "{{ .ID }}", "group": "{{ .Group }}"}

type alertaTmpl struct {
	one                map[string]*optTemplate
	service, correlate []*optTemplate
}

func alertaTemplates(o opts) (*alertaTmpl, error) {
	t := &alertaTmpl{one: map[string]*optTemplate{}}
	for _, name := range []string{"resource", "event", "environment", "group", "value"} {
		text := o.or(name, alertaDefaults[name])
		var sample any = &eventData{}
		if name == "event" {
			sample = &alertaEventData{}
		}
		var err error
		if t.one[name], err = parseOptTemplate(name, text, sample); err != nil {
			return nil, err
		}
	}
	for _, list := range []struct {
		name string
		dst  *[]*optTemplate
	}{{"service", &t.service}, {"correlate", &t.correlate}} {
		items, _ := o.strings(list.name)
		for _, s := range items {
			x, err := parseOptTemplate(list.name, s, &eventData{})
			if err != nil {
				return nil, err
			}
			*list.dst = append(*list.dst, x)
		}
	}
	renames, _ := o.headers("rename-severities")
	for _, r := range renames {
		switch r[0] {
		case "ok", "info", "warn", "crit":
		default:
			return nil, errorf("rename-severities", "unknown severity %q: want ok, info, warn or crit", r[0])
		}
	}
	return t, nil
}

func alertaRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("alerta", "")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(c.String("url"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("[alerta] of kapacitor.conf has no url")
	}
	target := redactURL(u.String())
	u.Path = path.Join(u.Path, "alert")
	t, _ := alertaTemplates(o)
	token := o.or("token", c.String("token"))
	prefix := o.or("token-prefix", c.String("token-prefix"))
	if prefix == "" {
		prefix = "Bearer"
	}
	environment, origin := c.String("environment"), o.or("origin", c.String("origin"))
	timeout, _ := o.duration("timeout", 24*time.Hour)
	attributes, _ := o.values("attributes")
	renames := map[string]string{}
	list, _ := o.headers("rename-severities")
	for _, r := range list {
		renames[r[0]] = r[1]
	}
	return &webhook{url: u.String(), target: target, skipVerify: c.Bool("insecure-skip-verify"),
		headers: [][2]string{{"Authorization", prefix + " " + token}},
		body: func(ev *alert.Event, payload []byte) ([]byte, error) {
			d := newEventData(ev)
			r := map[string]string{}
			for name, x := range t.one {
				var data any = d
				if name == "event" {
					data = &alertaEventData{ID: d.ID, Name: d.Name, TaskName: d.TaskName, Group: d.Group, Tags: d.Tags}
				}
				s, err := x.render(data)
				if err != nil {
					return nil, err
				}
				r[name] = s
			}
			if r["resource"] == "" || r["event"] == "" {
				return nil, errors.New("Resource and Event are required to send an alert")
			}
			if r["environment"] == "" {
				r["environment"] = environment
			}
			lists := map[string][]string{}
			for name, ts := range map[string][]*optTemplate{"service": t.service, "correlate": t.correlate} {
				if len(ts) == 0 {
					lists[name] = []string{d.Name}
					continue
				}
				for _, x := range ts {
					s, err := x.render(d)
					if err != nil {
						return nil, err
					}
					lists[name] = append(lists[name], s)
				}
			}
			names := alertaSeverities[ev.Level]
			severity := names[0]
			if s, ok := renames[names[1]]; ok {
				severity = s
			}
			tags := make([]string, 0, len(ev.Data.Tags))
			for _, tag := range ev.Data.Tags {
				tags = append(tags, tag.Key+"="+tag.Value)
			}
			sort.Strings(tags)
			m := map[string]any{"resource": r["resource"], "event": r["event"], "environment": r["environment"], "severity": severity,
				"group": r["group"], "value": r["value"], "text": ev.Message, "origin": origin, "rawData": eventResult(payload),
				"service": lists["service"], "correlate": lists["correlate"], "timeout": int64(timeout / time.Second), "tags": tags}
			if len(attributes) > 0 {
				m["attributes"] = attributes
			}
			return encodeJSON(m, true)
		},
	}, nil
}
