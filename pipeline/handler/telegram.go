package handler

import (
	"fmt"
	"net/url"
	"path"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "telegram", Doc: "sends each event's message with the Telegram bot API",
		Property: &Property{Name: "telegram"},
		Options: []Option{
			{Name: "chat-id", Type: String, Doc: "the chat", Default: "chat-id of [telegram]", Prop: "chatId"},
			{Name: "parse-mode", Type: String, Doc: "Markdown or HTML", Default: "parse-mode of [telegram]", Prop: "parseMode"},
			{Name: "disable-web-page-preview", Type: Bool, Doc: "no link previews", Default: "false", Prop: "disableWebPagePreview"},
			{Name: "disable-notification", Type: Bool, Doc: "silent messages", Default: "false", Prop: "disableNotification"},
		},
		Section: "telegram", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool, "url": kapconf.String, "token": kapconf.Secret,
			"chat-id": kapconf.String, "parse-mode": kapconf.String, "disable-web-page-preview": kapconf.Bool, "disable-notification": kapconf.Bool},
			Defaults: map[string]any{"url": "https://api.telegram.org/bot"}},
		check: func(o opts) error {
			if m, _ := o.string("parse-mode", false); m != "" && m != "Markdown" && m != "HTML" {
				return fmt.Errorf("parse-mode: want Markdown or HTML, got %q", m)
			}
			return nil
		},
		open: webhookKind(telegramRequest),
	})
}

// telegramRequest: {chat_id, text, parse_mode?, disable_web_page_preview?,
// disable_notification?} posted to URL + token + "/sendMessage".
func telegramRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("telegram", "")
	if err != nil {
		return nil, err
	}
	chat := o.or("chat-id", c.String("chat-id"))
	mode := o.or("parse-mode", c.String("parse-mode"))
	if mode != "" && mode != "Markdown" && mode != "HTML" {
		return nil, fmt.Errorf("[telegram] parse-mode: want Markdown or HTML, got %q", mode)
	}
	preview, _ := o.bool("disable-web-page-preview")
	notify, _ := o.bool("disable-notification")
	preview = preview || c.Bool("disable-web-page-preview")
	notify = notify || c.Bool("disable-notification")
	u, err := url.Parse(c.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("[telegram] url: want an http:// or https:// URL")
	}
	target := u.Scheme + "://" + u.Host + "/…"
	u.Path = path.Join(u.Path+c.String("token"), "sendMessage")
	return &webhook{
		url: u.String(), target: target,
		body: func(ev *alert.Event, _ []byte) ([]byte, error) {
			m := map[string]any{"chat_id": chat, "text": ev.Message}
			if mode != "" {
				m["parse_mode"] = mode
			}
			if preview {
				m["disable_web_page_preview"] = true
			}
			if notify {
				m["disable_notification"] = true
			}
			return encodeJSON(m, true)
		},
	}, nil
}
