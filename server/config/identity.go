package config

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Identity files in data_dir, named as kapacitord names them. Each holds
// one UUID in its canonical 36-character form and nothing else (no
// newline); surrounding white space is ignored when reading.
const (
	ClusterIDFile = "cluster.id"
	ServerIDFile  = "server.id"
)

// Identity is the server's identity, shown by /debug/vars and the default
// alert details.
type Identity struct {
	ClusterID string
	ServerID  string
}

var uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// LoadIdentity reads data_dir's identity files, creating the directory
// and any missing file with a new random UUID, as kapacitord does at its
// first start. An existing file that holds no UUID is an error: a
// kapacitord data_dir is used as it is, never silently re-identified.
func LoadIdentity(dataDir string) (Identity, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return Identity{}, err
	}
	var id Identity
	for _, f := range []struct {
		name string
		dst  *string
	}{{ClusterIDFile, &id.ClusterID}, {ServerIDFile, &id.ServerID}} {
		path := filepath.Join(dataDir, f.name)
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			s := strings.TrimSpace(string(data))
			if !uuidForm.MatchString(s) {
				return Identity{}, fmt.Errorf("%s: not a UUID", path)
			}
			*f.dst = s
		case os.IsNotExist(err):
			s := newUUID()
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				return Identity{}, err
			}
			*f.dst = s
		default:
			return Identity{}, err
		}
	}
	return id, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
