package handler

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The bigpanda kind posts each event to BigPanda's Alerts API as
// Kapacitor's bigpanda service does, with "Authorization: Bearer
// <token>" and {app_key, check (the id), description (the message),
// details (unless they are the default JSON details), status (ok,
// warning or critical; INFO is ok), task ("<task>:<measurement>"),
// timestamp (seconds)}, then the event's tags and the triggering point's
// fields as strings (auto-attributes), then host, primary_property,
// secondary_property and the attributes, which are templates over the
// event.
func init() {
	register(&Kind{
		Name: "bigpanda", Doc: "posts each event as an alert to BigPanda",
		Property: &Property{Name: "bigPanda"},
		Options: []Option{
			{Name: "app-key", Type: String, Doc: "the integration's app key", Default: "app-key of [bigpanda]", Prop: "appKey"},
			{Name: "primary-property", Type: String, Doc: "the attribute BigPanda titles incidents with", Prop: "primaryProperty"},
			{Name: "secondary-property", Type: String, Doc: "the attribute of incidents' subtitles", Prop: "secondaryProperty"},
			{Name: "host", Type: String, Doc: "the object that caused the alert (a template)", Prop: "host"},
			{Name: "attributes", Type: Values, Doc: "further attributes (string values are templates)", Prop: "attribute"},
		},
		Section: "bigpanda", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool,
			"url": kapconf.URL, "token": kapconf.Secret, "app-key": kapconf.Secret, "insecure-skip-verify": kapconf.Bool, "auto-attributes": kapconf.String},
			Defaults: map[string]any{"url": "https://api.bigpanda.io/data/v2/alerts", "auto-attributes": "tags,fields"}},
		check: func(o opts) error {
			_, err := bigPandaTemplates(o)
			return err
		},
		open: webhookKind(bigPandaRequest),
	})
}

func bigPandaTemplates(o opts) (map[string]*optTemplate, error) {
	ts, err := o.templates(&eventData{}, "host")
	if err != nil {
		return nil, err
	}
	attrs, err := o.values("attributes")
	if err != nil {
		return nil, err
	}
	for k, v := range attrs {
		if s, ok := v.(string); ok {
			if ts["attributes."+k], err = parseOptTemplate("attributes", s, &eventData{}); err != nil {
				return nil, err
			}
		}
	}
	return ts, nil
}

func bigPandaRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("bigpanda", "")
	if err != nil {
		return nil, err
	}
	u := c.String("url")
	if p, err := url.Parse(u); err != nil || p.Host == "" {
		return nil, fmt.Errorf("[bigpanda] url: want an http:// or https:// URL")
	}
	auto := map[string]bool{}
	for _, a := range strings.Split(c.String("auto-attributes"), ",") {
		switch a = strings.TrimSpace(a); a {
		case "tags", "fields":
			auto[a] = true
		case "":
		default:
			return nil, fmt.Errorf("[bigpanda] auto-attributes: unknown %q: want tags, fields or both", a)
		}
	}
	ts, _ := bigPandaTemplates(o)
	attrs, _ := o.values("attributes")
	appKey := o.or("app-key", c.String("app-key"))
	primary, _ := o.string("primary-property", false)
	secondary, _ := o.string("secondary-property", false)
	return &webhook{url: u, target: redactURL(u), skipVerify: c.Bool("insecure-skip-verify"),
		headers: [][2]string{{"Authorization", "Bearer " + c.String("token")}},
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			status := "critical"
			switch ev.Level {
			case alert.OK, alert.Info:
				status = "ok"
			case alert.Warning:
				status = "warning"
			}
			m := map[string]any{"app_key": appKey, "status": status, "task": ev.TaskName + ":" + ev.Data.Name,
				"timestamp": time.Unix(0, ev.Time).Unix()}
			if ev.Message != "" {
				m["description"] = ev.Message
			}
			if d := html.UnescapeString(ev.Details); d != "" && !strings.HasPrefix(d, "{") {
				m["details"] = d
			}
			if ev.ID != "" {
				m["check"] = ev.ID
			}
			if auto["tags"] {
				for _, t := range ev.Data.Tags {
					m[t.Key] = t.Value
				}
			}
			if auto["fields"] {
				for _, f := range ev.TriggerFields() {
					m[f.Key] = fmt.Sprint(f.Value.Interface())
				}
			}
			d := newEventData(ev)
			if t := ts["host"]; t != nil {
				h, err := t.render(d)
				if err != nil {
					return nil, err
				}
				m["host"] = h
			}
			if primary != "" {
				m["primary_property"] = primary
			}
			if secondary != "" {
				m["secondary_property"] = secondary
			}
			for k, v := range attrs {
				if t := ts["attributes."+k]; t != nil {
					s, err := t.render(d)
					if err != nil {
						return nil, err
					}
					v = s
				}
				m[k] = v
			}
			return encodeJSON(m, false)
		},
	}, nil
}
