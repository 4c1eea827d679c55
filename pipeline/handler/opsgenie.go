package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The opsgenie kind creates an OpsGenie alert per event with the old
// Alert API (v1), as Kapacitor's opsgenie service does: {alias and entity
// (the id), apiKey, description (the data as a JSON string), details
// {Level, Monitoring Tool}, message, monitoring_tool: "kapacitor", note,
// recipients, teams} posted to url + "/"; OK is a RECOVERY posted to
// recovery_url + "/" with the message as note.
func init() {
	register(&Kind{
		Name: "opsgenie", Doc: "creates an OpsGenie alert per event with the Alert API v1 (OK posts to the recovery URL)",
		Property: &Property{Name: "opsGenie"},
		Options: []Option{
			{Name: "teams-list", Type: Strings, Doc: "teams to notify", Default: "teams of [opsgenie]", Prop: "teams"},
			{Name: "recipients-list", Type: Strings, Doc: "users to notify", Default: "recipients of [opsgenie]", Prop: "recipients"},
		},
		Section: "opsgenie", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "api-key": kapconf.Secret,
			"teams": kapconf.Strings, "recipients": kapconf.Strings, "url": kapconf.String, "recovery_url": kapconf.String},
			Defaults: map[string]any{"url": "https://api.opsgenie.com/v1/json/alert", "recovery_url": "https://api.opsgenie.com/v1/json/alert/note"}},
		open: webhookKind(opsGenieRequest),
	})
}

func opsGenieRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("opsgenie", "")
	if err != nil {
		return nil, err
	}
	for _, key := range []string{"url", "recovery_url"} {
		if u, err := url.Parse(c.String(key)); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("[opsgenie] %s: want an http:// or https:// URL", key)
		}
	}
	teams, _ := o.strings("teams-list")
	if len(teams) == 0 {
		teams = c.Strings("teams")
	}
	recipients, _ := o.strings("recipients-list")
	if len(recipients) == 0 {
		recipients = c.Strings("recipients")
	}
	alertURL, recoveryURL := c.String("url")+"/", c.String("recovery_url")+"/"
	key := c.String("api-key")
	return &webhook{
		url: alertURL, target: redactURL(alertURL),
		route: func(ev *alert.Event) string {
			if ev.Level == alert.OK {
				return recoveryURL
			}
			return alertURL
		},
		body: func(ev *alert.Event, payload []byte) ([]byte, error) {
			typ, note := ev.Level.String(), ""
			if ev.Level == alert.OK {
				typ, note = "RECOVERY", ev.Message
			}
			var desc bytes.Buffer
			if err := json.Compact(&desc, eventResult(payload)); err != nil {
				return nil, err
			}
			m := map[string]any{"apiKey": key, "entity": ev.ID, "alias": ev.ID, "message": ev.Message, "note": note,
				"monitoring_tool": "kapacitor", "details": map[string]string{"Level": typ, "Monitoring Tool": "Kapacitor"},
				"description": desc.String()}
			if len(teams) > 0 {
				m["teams"] = teams
			}
			if len(recipients) > 0 {
				m["recipients"] = recipients
			}
			return encodeJSON(m, true)
		},
	}, nil
}
