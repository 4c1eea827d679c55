package handler

import (
	"fmt"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "teams", Doc: "posts each event as a MessageCard to a Microsoft Teams channel",
		Property: &Property{Name: "teams"},
		Options: []Option{
			{Name: "channel-url", Type: String, Doc: "the channel's webhook URL", Default: "channel-url of [teams]", Prop: "channelURL"},
		},
		Section: "teams", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool, "channel-url": kapconf.URL}},
		open:   webhookKind(teamsRequest),
	})
}

// teamsSummaryCutoff is where Kapacitor cuts a Teams card's summary (in
// bytes) before appending "...".
const teamsSummaryCutoff = 70

// teamsRequest: a MessageCard {@type, @context, title, text, summary,
// themeColor}; the title is "LEVEL: [id]", the summary the title and the
// message, cut, the color by level.
func teamsRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("teams", "")
	if err != nil {
		return nil, err
	}
	u := o.or("channel-url", c.String("channel-url"))
	if u == "" && !env.Config.Lenient {
		return nil, fmt.Errorf("teams needs a channel-url: in [teams] of kapacitor.conf or the handler's options")
	}
	type card struct {
		Type       string `json:"@type"`
		Context    string `json:"@context"`
		Title      string `json:"title"`
		Text       string `json:"text"`
		Summary    string `json:"summary"`
		ThemeColor string `json:"themeColor"`
	}
	topic := env.Topic
	return &webhook{
		url: u, target: redactURL(u),
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			title, summary := ev.Level.String(), ""
			switch {
			case ev.ID == "" && topic == "":
				summary = title + ": " + ev.Message
			case ev.ID == "":
				title += ": [" + topic + ":" + ev.Node + "]"
				summary = title + " - " + ev.Message
			default:
				title += ": [" + ev.ID + "]"
				summary = title + " - " + ev.Message
			}
			summary = summary[:min(teamsSummaryCutoff, len(summary))] + "..."
			color := "34CC25"
			switch ev.Level {
			case alert.Warning:
				color = "FFA533"
			case alert.Critical:
				color = "CC4A31"
			}
			return encodeJSON(card{"MessageCard", "http://schema.org/extensions", title, ev.Message, summary, color}, false)
		},
	}, nil
}
