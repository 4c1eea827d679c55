package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickrun/tickrun/pipeline/models"
)

// FuzzTemplates parses and renders the id, message and details templates
// of an alert node on a sample event: an error must be a *TemplateError
// (parse) or come from executing the template, never a panic, a hang or
// output over the limits.
func FuzzTemplates(f *testing.F) {
	for _, s := range []string{DefaultIDTemplate, DefaultMessageTemplate, DefaultDetailsTemplate,
		`{{ .ID }} is {{ .Level }} {{ index .Tags "host" }}`, `{{range .Fields}}{{.}}{{end}}`,
		`{{define "x"}}{{template "x"}}{{end}}{{template "x"}}`, `{{range 200000000}}x{{end}}`,
		`{{ printf "%0*d" 1000000 1 }}`, `{{ json . }}`, `{{ jsonCompact .Fields }}`, `{{ .Time.Unix }}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 2000 {
			return
		}
		for which, tmpl := range [][3]string{{src, DefaultMessageTemplate, ""}, {DefaultIDTemplate, src, ""}, {DefaultIDTemplate, DefaultMessageTemplate, src}} {
			tm, err := ParseTemplates(tmpl[0], tmpl[1], tmpl[2])
			if err != nil {
				var te *TemplateError
				if !errors.As(err, &te) || te.Which != which {
					t.Fatalf("parse error not a TemplateError of template %d: %v", which, err)
				}
				continue
			}
			tm.SetLimits(Limits{Time: 50 * time.Millisecond, Size: 64 << 10})
			if err := tm.Check(); err != nil {
				continue
			}
			tags := []models.Tag{{Key: "host", Value: "a"}}
			info := &DetailsInfo{MessageInfo: MessageInfo{IDInfo: IDInfo{Name: "cpu", TaskName: "t", Group: "host=a"}, ID: "cpu:host=a", Level: "CRITICAL"}}
			FillInfoMaps(info, tags, nil)
			start := time.Now()
			id, _ := tm.RenderID(&info.IDInfo)
			msg, _ := tm.RenderMessage(&info.MessageInfo)
			det, _ := tm.RenderDetails(info, tags, nil)
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("rendering took %v", took)
			}
			for _, out := range []string{id, msg, det} {
				if len(out) > 64<<10 {
					t.Fatalf("output of %d bytes over the limit", len(out))
				}
			}
			_ = strings.TrimSpace(msg)
		}
	})
}
