package pipeline

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// k8sScaler scales a Kubernetes deployment, replica set or replication
// controller through its scale subresource, as Kapacitor's own k8s client
// does (services/k8s/client): GET
// /apis/extensions/v1beta1/namespaces/NS/KIND/NAME/scale, then a JSON patch
// of /spec/replicas to the scale's selfLink (the GET path when the server
// sends none), with the bearer token of the [kubernetes] section of
// kapacitor.conf, or of the pod with in-cluster = true.
type k8sScaler struct {
	cluster, namespace, kind           string
	resourceName, resourceNameTag      string
	namespaceTag, kindTag, resourceTag string
	urls                               []string
	token                              string
	client                             *http.Client
	next                               int
}

// k8sSecretsDir is where a pod finds its service account (in-cluster).
var k8sSecretsDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func init() {
	// [kubernetes] (Kapacitor services/k8s/config.go); [[kubernetes]]
	// tables are told apart by id, which .cluster() names.
	kapconf.Register("kubernetes", kapconf.Schema{Multi: true, NameKey: "id", Keys: map[string]kapconf.Kind{
		"enabled": kapconf.Bool, "id": kapconf.String, "in-cluster": kapconf.Bool, "api-servers": kapconf.Strings,
		"token": kapconf.Secret, "ca-path": kapconf.String, "namespace": kapconf.String, "resource": kapconf.String,
	}})
	str := func(name, doc string, set func(s *k8sScaler, v string)) *Prop { return scalerString(name, doc, set) }
	autoscaleSpec("k8sAutoscale", "k8s_autoscale", "scales a Kubernetes resource from a lambda and emits the changes",
		func() autoscaler {
			return &k8sScaler{cluster: "default", kind: "deployments", namespaceTag: "namespace", kindTag: "kind", resourceTag: "resource"}
		},
		str("cluster", "the id of a [kubernetes] section (default 'default')", func(s *k8sScaler, v string) { s.cluster = v }),
		str("namespace", "namespace of the resource (default 'default')", func(s *k8sScaler, v string) { s.namespace = v }),
		str("kind", "deployments (default), replicasets or replicationcontroller", func(s *k8sScaler, v string) { s.kind = v }),
		str("resourceName", "name of the resource", func(s *k8sScaler, v string) { s.resourceName = v }),
		str("resourceNameTag", "tag naming the resource", func(s *k8sScaler, v string) { s.resourceNameTag = v }),
		str("namespaceTag", "tag of the event points for the namespace (default 'namespace')", func(s *k8sScaler, v string) { s.namespaceTag = v }),
		str("kindTag", "tag of the event points for the kind (default 'kind')", func(s *k8sScaler, v string) { s.kindTag = v }),
		str("resourceTag", "tag of the event points for the resource (default 'resource')", func(s *k8sScaler, v string) { s.resourceTag = v }),
	)
}

func (s *k8sScaler) validate() error {
	if (s.resourceName != "") == (s.resourceNameTag != "") {
		return errors.New("must specify exactly one of ResourceName or ResourceNameTag")
	}
	switch s.kind {
	case "deployments", "replicasets", "replicationcontroller", "replicationcontrollers":
		return nil
	}
	return fmt.Errorf("invalid Kind, must be 'deployments', 'replicasets' or 'replicationcontrollers', got %s", s.kind)
}

// section picks the [kubernetes] table of the cluster: the one with that
// id, or the only one without an id for "default".
func clusterSection(conf *kapconf.Config, section, cluster string) (*kapconf.Section, error) {
	var found *kapconf.Section
	for _, s := range conf.All(section) {
		id := s.String("id")
		if id == cluster || id == "" && cluster == "default" {
			found = s
		}
	}
	if found == nil {
		where := "kapacitor.conf (give it with --config FILE)"
		if conf != nil && conf.File != "" {
			where = conf.File
		}
		return nil, fmt.Errorf("no [%s] section with id %q in %s", section, cluster, where)
	}
	if !found.Bool("enabled") {
		return nil, fmt.Errorf("[%s] %q is not enabled in %s:%d", section, cluster, conf.File, found.Line)
	}
	return found, nil
}

func (s *k8sScaler) start(t *Task) error {
	if err := s.connect(t.opts.Config); err != nil {
		return fmt.Errorf("cannot use the k8sAutoscale node, could not create kubernetes client: %v", err)
	}
	return nil
}

// connect reads the cluster's section as Kapacitor's Config.ClientConfig
// does.
func (s *k8sScaler) connect(conf *kapconf.Config) error {
	c, err := clusterSection(conf, "kubernetes", s.cluster)
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{}
	if c.Bool("in-cluster") {
		switch {
		case len(c.Strings("api-servers")) > 0:
			return errors.New("in-cluster specified, cannot also specify api-servers")
		case c.String("token") != "":
			return errors.New("in-cluster specified, cannot also specify token")
		case c.String("ca-path") != "":
			return errors.New("in-cluster specified, cannot also specify ca-path")
		case c.String("namespace") != "":
			return errors.New("in-cluster specified, cannot also specify namespace")
		}
		read := func(name, what string) ([]byte, error) {
			b, err := os.ReadFile(filepath.Join(k8sSecretsDir, name))
			if err != nil {
				return nil, fmt.Errorf("could not load %s: %w", what, err)
			}
			return b, nil
		}
		if _, err := read("namespace", "namespace"); err != nil {
			return err
		}
		token, err := read("token", "token")
		if err != nil {
			return err
		}
		ca, err := read("ca.crt", "ca.crt")
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return errors.New("failed to parse ca certificate as PEM encoded content")
		}
		tlsConf.RootCAs = pool
		host := os.Getenv("KUBERNETES_SERVICE_HOST")
		if host == "" {
			host = "kubernetes"
		}
		s.urls, s.token = []string{"https://" + host}, string(token)
	} else {
		s.urls, s.token = c.Strings("api-servers"), c.String("token")
		if len(s.urls) == 0 {
			return errors.New("no api-servers specified, must provide at least one server URL")
		}
		if p := c.String("ca-path"); p != "" {
			ca, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("failed to read ca-path %q: %w", p, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(ca) {
				return errors.New("failed to parse ca certificate as PEM encoded content")
			}
			tlsConf.RootCAs = pool
		}
	}
	s.client = &http.Client{Timeout: autoscaleTimeout, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConf}}
	return nil
}

func (s *k8sScaler) resource(tags []Tag) (resource, error) {
	name := s.resourceName
	if name == "" {
		name = tagValue(tags, s.resourceNameTag)
	}
	if name == "" {
		return resource{}, errors.New("could not determine the name of the resource")
	}
	ns := s.namespace
	if ns == "" {
		ns = "default"
	}
	return resource{id: name, namespace: ns, kind: s.kind, name: name}, nil
}

func tagValue(tags []Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// k8sScale is the part of a Scale object the node reads.
type k8sScale struct {
	Metadata struct {
		Name     string `json:"name"`
		SelfLink string `json:"selfLink"`
	} `json:"metadata"`
	Spec struct {
		Replicas int64 `json:"replicas"`
	} `json:"spec"`
}

// do sends a request to the next API server with the bearer token and
// decodes a 200 answer into out; any other status is the error of the
// Status object the server sent.
func (s *k8sScaler) do(method, p string, body []byte, contentType string, out any) error {
	base := s.urls[s.next%len(s.urls)]
	s.next++
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/")+p, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("k8s client request failed: %w", err)
	}
	defer resp.Body.Close()
	data := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		var status struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(data, &status); err != nil {
			return fmt.Errorf("failed to understand k8s server response: Code: %d: %v", resp.StatusCode, err)
		}
		return errors.New(status.Message)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("failed to decode k8s server response: Code: %d: %v", resp.StatusCode, err)
		}
	}
	return nil
}

// scalePath is the scale subresource of r.
func scalePath(r resource) string {
	return path.Join("/apis/extensions/v1beta1/namespaces", r.namespace, r.kind, r.name, "scale")
}

func (s *k8sScaler) getScale(r resource) (*k8sScale, error) {
	sc := &k8sScale{}
	if err := s.do(http.MethodGet, scalePath(r), nil, "", sc); err != nil {
		return nil, fmt.Errorf("failed to get scale %s/%s/%s: %w", r.namespace, r.kind, r.name, err)
	}
	return sc, nil
}

func (s *k8sScaler) replicas(r resource) (int64, error) {
	sc, err := s.getScale(r)
	if err != nil {
		return 0, err
	}
	return sc.Spec.Replicas, nil
}

func (s *k8sScaler) setReplicas(r resource, n int64) error {
	sc, err := s.getScale(r)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/replicas", "value": int32(n)}})
	target := sc.Metadata.SelfLink
	if target == "" {
		target = scalePath(r) // servers since Kubernetes 1.20 send no selfLink
	}
	if err := s.do(http.MethodPatch, target, append(patch, '\n'), "application/json-patch+json", nil); err != nil {
		return fmt.Errorf("failed to update scale %s/%s/%s: %w", r.namespace, r.kind, sc.Metadata.Name, err)
	}
	return nil
}

func (s *k8sScaler) tag(r resource, q *Point) {
	if s.namespaceTag != "" {
		q.SetTag(s.namespaceTag, r.namespace)
	}
	if s.kindTag != "" {
		q.SetTag(s.kindTag, r.kind)
	}
	if s.resourceTag != "" {
		q.SetTag(s.resourceTag, r.name)
	}
}

func (s *k8sScaler) section() string { return "kubernetes" }

var _ autoscaler = (*k8sScaler)(nil)
