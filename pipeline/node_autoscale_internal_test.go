package pipeline

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The signer against AWS's published example (IAM ListUsers, 2015-08-30).
func TestSignV4AWSExample(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signV4(req, nil, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "iam",
		time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC))
	assert.Equal(t, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, "+
		"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", req.Header.Get("Authorization"))
	assert.Equal(t, "20150830T123600Z", req.Header.Get("X-Amz-Date"))
}

// In a pod (in-cluster = true) the k8s client takes the service account's
// token and CA and the API server's host from the environment.
func TestK8sInCluster(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer pod-token" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Unauthorized"}`))
			return
		}
		w.Write([]byte(`{"metadata":{"name":"web"},"spec":{"replicas":4}}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for name, body := range map[string][]byte{"namespace": []byte("prod"), "token": []byte("pod-token"), "ca.crt": ca} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), body, 0o600))
	}
	old := k8sSecretsDir
	k8sSecretsDir = dir
	defer func() { k8sSecretsDir = old }()
	t.Setenv("KUBERNETES_SERVICE_HOST", strings.TrimPrefix(srv.URL, "https://"))
	conf, err := kapconf.Parse("kapacitor.conf", []byte("[kubernetes]\nenabled = true\nin-cluster = true\n"))
	require.NoError(t, err)
	s := &k8sScaler{cluster: "default", kind: "deployments"}
	require.NoError(t, s.connect(conf))
	n, err := s.replicas(resource{namespace: "prod", kind: "deployments", name: "web"})
	require.NoError(t, err)
	assert.Equal(t, int64(4), n)

	conf, err = kapconf.Parse("kapacitor.conf", []byte("[kubernetes]\nenabled = true\nin-cluster = true\ntoken = 'x'\n"))
	require.NoError(t, err)
	assert.EqualError(t, (&k8sScaler{cluster: "default"}).connect(conf), "in-cluster specified, cannot also specify token")
	k8sSecretsDir = filepath.Join(dir, "absent")
	conf, err = kapconf.Parse("kapacitor.conf", []byte("[kubernetes]\nenabled = true\nin-cluster = true\n"))
	require.NoError(t, err)
	assert.ErrorContains(t, (&k8sScaler{cluster: "default"}).connect(conf), "could not load namespace")
}
