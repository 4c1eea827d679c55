package pipeline

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// swarmScaler scales a Docker Swarm service through the Docker Engine API
// v1.30, as Kapacitor's swarm client does (services/swarm/client): GET
// /v1.30/services/NAME, then POST /v1.30/services/ID/update?version=N with
// the service's spec, Mode.Replicated.Replicas changed, to a server of the
// [[swarm]] section of kapacitor.conf. The spec goes back as it came, with
// every field tickrun does not know.
type swarmScaler struct {
	cluster                                string
	serviceName, serviceNameTag, outputTag string
	servers                                []string
	client                                 *http.Client
	next                                   int
}

func init() {
	kapconf.Register("swarm", kapconf.Schema{Multi: true, NameKey: "id", Keys: map[string]kapconf.Kind{
		"enabled": kapconf.Bool, "id": kapconf.String, "servers": kapconf.Strings, "ssl-ca": kapconf.String,
		"ssl-cert": kapconf.String, "ssl-key": kapconf.String, "insecure-skip-verify": kapconf.Bool,
	}})
	str := func(name, doc string, set func(s *swarmScaler, v string)) *Prop { return scalerString(name, doc, set) }
	autoscaleSpec("swarmAutoscale", "swarm_autoscale", "scales a Docker Swarm service from a lambda and emits the changes",
		func() autoscaler { return &swarmScaler{cluster: "default"} },
		str("cluster", "the id of a [[swarm]] section (default 'default')", func(s *swarmScaler, v string) { s.cluster = v }),
		str("serviceName", "name of the service", func(s *swarmScaler, v string) { s.serviceName = v }),
		str("serviceNameTag", "tag naming the service", func(s *swarmScaler, v string) { s.serviceNameTag = v }),
		str("outputServiceNameTag", "tag of the event points for the service (default: serviceNameTag)", func(s *swarmScaler, v string) { s.outputTag = v }),
	)
}

func (s *swarmScaler) validate() error {
	if (s.serviceName != "") == (s.serviceNameTag != "") {
		return errors.New("must specify exactly one of ServiceName or ServiceNameTag")
	}
	return nil
}

func (s *swarmScaler) start(t *Task) error {
	c, err := clusterSection(t.opts.Config, "swarm", s.cluster)
	if err == nil {
		err = s.connect(c)
	}
	if err != nil {
		return fmt.Errorf("cannot use the swarmAutoscale node, could not create swarm client: %v", err)
	}
	return nil
}

func (s *swarmScaler) connect(c *kapconf.Section) error {
	s.servers = c.Strings("servers")
	if len(s.servers) == 0 {
		return errors.New("no api-servers specified, must provide at least one server URL")
	}
	tlsConf, err := sectionTLS(c, "ssl-ca", "ssl-cert", "ssl-key", "insecure-skip-verify")
	if err != nil {
		return err
	}
	s.client = &http.Client{Timeout: autoscaleTimeout, Transport: &http.Transport{TLSClientConfig: tlsConf}}
	return nil
}

// sectionTLS builds the TLS configuration of a section's CA, certificate,
// key and skip-verify keys.
func sectionTLS(c *kapconf.Section, caKey, certKey, keyKey, skipKey string) (*tls.Config, error) {
	t := &tls.Config{InsecureSkipVerify: c.Bool(skipKey)}
	if p := c.String(caKey); p != "" {
		ca, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s %q: %w", caKey, p, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("failed to parse ca certificate as PEM encoded content")
		}
		t.RootCAs = pool
	}
	if cert, key := c.String(certKey), c.String(keyKey); cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("could not load X509 key pair: %v", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}

func (s *swarmScaler) resource(tags []Tag) (resource, error) {
	name := s.serviceName
	if name == "" {
		name = tagValue(tags, s.serviceNameTag)
	}
	if name == "" {
		return resource{}, errors.New("could not determine the name of the resource")
	}
	return resource{id: name, name: name}, nil
}

// swarmService is the part of a service the node reads; the spec is kept
// whole.
type swarmService struct {
	ID      string `json:"ID"`
	Version struct {
		Index uint64 `json:"Index"`
	} `json:"Version"`
	Spec json.RawMessage `json:"Spec"`
}

// swarmVersion is the Docker Engine API version Kapacitor's client uses.
const swarmVersion = "v1.30"

func (s *swarmScaler) do(method, p string, query url.Values, body []byte) ([]byte, error) {
	base := s.servers[s.next%len(s.servers)]
	s.next++
	u := strings.TrimSuffix(base, "/") + p
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("swarm client request failed: %w", err)
	}
	defer resp.Body.Close()
	data := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("failed to understand swarm server response: Code: %d: %v", resp.StatusCode, err)
		}
		if e.Message == "" {
			return nil, fmt.Errorf("failed to understand swarm server error response: Code: %d", resp.StatusCode)
		}
		return nil, errors.New(e.Message)
	}
	return data, nil
}

func (s *swarmScaler) service(r resource) (*swarmService, map[string]json.RawMessage, error) {
	data, err := s.do(http.MethodGet, "/"+swarmVersion+"/services/"+url.PathEscape(r.name), nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to get swarm service for %q: %w", r.name, err)
	}
	svc := &swarmService{}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(data, svc); err == nil {
		err = json.Unmarshal(svc.Spec, &spec)
	}
	if err != nil || spec == nil {
		return nil, nil, fmt.Errorf("failed to get swarm service for %q: failed to decode swarm server response", r.name)
	}
	return svc, spec, nil
}

// replicated reads Spec.Mode.Replicated.Replicas.
func replicated(spec map[string]json.RawMessage) (mode, rep map[string]json.RawMessage, n int64, err error) {
	if err = json.Unmarshal(spec["Mode"], &mode); err == nil {
		err = json.Unmarshal(mode["Replicated"], &rep)
	}
	if err == nil && rep != nil {
		err = json.Unmarshal(rep["Replicas"], &n)
	}
	if err != nil || rep == nil {
		return nil, nil, 0, errors.New("the service is not in replicated mode")
	}
	return mode, rep, n, nil
}

func (s *swarmScaler) replicas(r resource) (int64, error) {
	_, spec, err := s.service(r)
	if err != nil {
		return 0, err
	}
	_, _, n, err := replicated(spec)
	return n, err
}

func (s *swarmScaler) setReplicas(r resource, n int64) error {
	svc, spec, err := s.service(r)
	if err != nil {
		return err
	}
	mode, rep, _, err := replicated(spec)
	if err != nil {
		return err
	}
	rep["Replicas"] = json.RawMessage(strconv.FormatInt(n, 10))
	mode["Replicated"], _ = json.Marshal(rep)
	spec["Mode"], _ = json.Marshal(mode)
	body, _ := json.Marshal(spec)
	q := url.Values{}
	q.Set("version", strconv.FormatUint(svc.Version.Index, 10))
	if _, err := s.do(http.MethodPost, "/"+swarmVersion+"/services/"+url.PathEscape(svc.ID)+"/update", q, append(body, '\n')); err != nil {
		return fmt.Errorf("update service request failed for %q: %w", svc.ID, err)
	}
	return nil
}

func (s *swarmScaler) tag(r resource, q *Point) {
	tag := s.outputTag
	if tag == "" {
		tag = s.serviceNameTag
	}
	if tag != "" {
		q.SetTag(tag, r.name)
	}
}

func (s *swarmScaler) section() string { return "swarm" }

var _ autoscaler = (*swarmScaler)(nil)
