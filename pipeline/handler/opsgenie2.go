package handler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "opsgenie2", Doc: "creates an OpsGenie alert per event with the Alert API v2 (OK adds a note or closes)",
		Property: &Property{Name: "opsGenie2"},
		Options: []Option{
			{Name: "teams-list", Type: Strings, Doc: "teams to notify", Default: "teams of [opsgenie2]", Prop: "teams"},
			{Name: "recipients-list", Type: Strings, Doc: "users to notify", Default: "recipients of [opsgenie2]", Prop: "recipients"},
		},
		Section: "opsgenie2", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "api-key": kapconf.Secret, "url": kapconf.String, "teams": kapconf.Strings,
			"recipients": kapconf.Strings, "recovery_action": kapconf.String, "details": kapconf.Any},
			Defaults: map[string]any{"url": "https://api.opsgenie.com/v2/alerts", "recovery_action": "notes"}},
		open: webhookKind(opsGenie2Request),
	})
}

// opsGenie2Request: an Alert API v2 create {alias (the id, base64url),
// description (the data as a JSON string), details, entity, message,
// note, priority, responders} to url with "Authorization: GenieKey
// <api-key>"; OK adds a note (or closes, by recovery_action) at
// url/<alias>/<action>?identifierType=alias.
func opsGenie2Request(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("opsgenie2", "")
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(c.String("url"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("[opsgenie2] url: want an http:// or https:// URL")
	}
	teams, _ := o.strings("teams-list")
	if len(teams) == 0 {
		teams = c.Strings("teams")
	}
	recipients, _ := o.strings("recipients-list")
	if len(recipients) == 0 {
		recipients = c.Strings("recipients")
	}
	alias := func(ev *alert.Event) string { return base64.URLEncoding.EncodeToString([]byte(ev.ID)) }
	action := c.String("recovery_action")
	return &webhook{
		url: base.String(), target: redactURL(base.String()),
		headers: [][2]string{{"Authorization", "GenieKey " + c.String("api-key")}},
		route: func(ev *alert.Event) string {
			if ev.Level != alert.OK {
				return base.String()
			}
			u := *base
			u.Path = path.Join(u.Path, alias(ev), action)
			u.RawQuery = "identifierType=alias"
			return u.String()
		},
		body: func(ev *alert.Event, payload []byte) ([]byte, error) {
			if ev.Level == alert.OK {
				return encodeJSON(map[string]any{"note": ev.Message}, true)
			}
			priority := map[alert.Level]string{alert.Info: "P5", alert.Warning: "P3", alert.Critical: "P1"}[ev.Level]
			var desc bytes.Buffer
			if err := json.Compact(&desc, eventResult(payload)); err != nil {
				return nil, err
			}
			details := map[string]string{"Monitoring Tool": "Kapacitor", "Level": ev.Level.String()}
			if len(ev.Data.Columns) > 0 || ev.Data.Name != "" {
				for _, tag := range ev.Data.Tags {
					details[tag.Key] = tag.Value
				}
				details["Kapacitor Task Name"] = ev.Data.Name
			}
			m := map[string]any{"entity": ev.ID, "alias": alias(ev), "message": ev.Message, "note": "",
				"priority": priority, "description": desc.String(), "details": details}
			var responders []map[string]string
			for _, team := range teams {
				responders = append(responders, map[string]string{"name": team, "type": "team"})
			}
			for _, r := range recipients {
				responders = append(responders, map[string]string{"username": r, "type": "user"})
			}
			if len(responders) > 0 {
				m["responders"] = responders
			}
			return encodeJSON(m, true)
		},
	}, nil
}
