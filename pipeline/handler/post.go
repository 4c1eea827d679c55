package handler

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The post kind sends each event's JSON in an HTTP POST with content type
// application/json (alert.md §13.4) and any headers given. A 2xx answer
// is success; a network error, a timeout (default 10s), 429 or 5xx is
// retried; any other status is not, as sending the same body again would
// get the same answer. With capture-response the body of a failed
// answer is logged.
func init() {
	register(&Kind{
		Name: "post", Doc: "sends each event's JSON in an HTTP POST",
		Property: &Property{Name: "post", Args: []string{"url"}, Optional: true},
		Options: []Option{
			{Name: "url", Type: String, Doc: "where to post (http:// or https://)"},
			{Name: "endpoint", Type: String, Doc: "an [[httppost]] endpoint of kapacitor.conf, instead of url", Prop: "endpoint"},
			{Name: "headers", Type: Map, Doc: "request headers", Prop: "header"},
			{Name: "timeout", Type: Duration, Doc: "timeout of each request", Default: "10s", Prop: "timeout"},
			{Name: "capture-response", Type: Bool, Doc: "log the body of a failed answer", Default: "false"},
			{Name: "skip-ssl-verification", Type: Bool, Doc: "accept any TLS certificate", Default: "false"},
		},
		Section: "httppost",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"endpoint": kapconf.String, "url": kapconf.URL, "headers": kapconf.Map, "basic-auth": kapconf.Any,
			"alert-template": kapconf.Any, "alert-template-file": kapconf.Any, "row-template": kapconf.Any, "row-template-file": kapconf.Any},
			Multi: true, NameKey: "endpoint", ByNameOnly: true, Lenient: map[string]any{"url": "http://127.0.0.1/"}},
		// As in Kapacitor (services/httppost Handler), an endpoint named
		// in kapacitor.conf wins over the url, and the url is the fallback
		// when the endpoint is not defined: .post(url).endpoint(name).
		check: func(o opts) error {
			_, hasURL := o["url"]
			if _, ok := o["endpoint"]; ok {
				if _, err := o.string("endpoint", true); err != nil {
					return err
				}
				if !hasURL {
					return nil
				}
			}
			raw, err := o.string("url", true)
			if err != nil {
				return fmt.Errorf("%v (give the url, or the endpoint of an [[httppost]] section of kapacitor.conf)", err)
			}
			if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("url: want an http:// or https:// URL, got %q", raw)
			}
			return nil
		},
		open: func(o opts, env *Env) (*endpoint, error) {
			p := &Poster{}
			p.URL, _ = o.string("url", false)
			p.Headers, _ = o.headers("headers")
			target := p.URL
			if ep, _ := o.string("endpoint", false); ep != "" {
				u, h, err := Endpoint(env.Config, ep)
				switch {
				case err == nil:
					p.URL, p.Headers, target = u, append(h, p.Headers...), "endpoint "+ep
					p.Redact = target
				case p.URL == "":
					return nil, err
				}
			}
			timeout, _ := o.duration("timeout", 10*time.Second)
			p.CaptureResponse, _ = o.bool("capture-response")
			skip, _ := o.bool("skip-ssl-verification")
			p.Client = httpClient(timeout, skip)
			return &endpoint{target: target, try: p.Try}, nil
		},
	})
}

// httpClient is a client with its own transport, so a handler's
// connections are its own.
func httpClient(timeout time.Duration, skipVerify bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if skipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Poster posts payloads as JSON to a URL: one Try per attempt, for a
// deliver.Queue. A 2xx answer is success; a network error, a timeout, 429
// or 5xx is worth a retry; any other status is permanent, as sending the
// same body again would get the same answer. The post kind and the
// httpPost node share it.
type Poster struct {
	URL     string
	Headers [][2]string // applied in order: a later one replaces an earlier one
	Client  *http.Client
	// CaptureResponse adds the body of a failed answer to the error.
	CaptureResponse bool
	// Redact, if set, replaces the URL in errors: URLs from kapacitor.conf
	// may hold tokens.
	Redact string
}

// NewPoster returns a Poster with a client of its own.
func NewPoster(url string, headers [][2]string, timeout time.Duration) *Poster {
	return &Poster{URL: url, Headers: headers, Client: httpClient(timeout, false)}
}

// Endpoint returns the URL and headers of an [[httppost]] endpoint of
// kapacitor.conf (its basic-auth as an Authorization header).
func Endpoint(c *kapconf.Config, name string) (string, [][2]string, error) {
	s, err := c.Section("httppost", name)
	if err != nil {
		return "", nil, err
	}
	h := s.Headers("headers")
	if ba, ok := s.Value("basic-auth").(map[string]any); ok {
		u, _ := ba["username"].(string)
		pw, _ := ba["password"].(string)
		h = append(h, [2]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+pw))})
	}
	return s.String("url"), h, nil
}

// Try makes one POST of payload.
func (p *Poster) Try(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(payload))
	if err != nil {
		return deliver.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range p.Headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if p.Redact != "" && errors.As(err, &ue) {
			return fmt.Errorf("POST %s: %v", p.Redact, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("HTTP %s", resp.Status)
	if p.CaptureResponse {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(body)))
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return err
	}
	return deliver.Permanent(err)
}
