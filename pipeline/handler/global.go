package handler

import "github.com/tickrun/tickrun/pipeline/kapconf"

// Global is a handler that kapacitor.conf gives every alert node: a
// section of a Global kind with enabled and global set.
type Global struct {
	Kind    string         // the handler's kind
	Options map[string]any // its options (the workspace, for a named one)
	// StateChangesOnly: the section's state-changes-only is set, which
	// makes every alert node send only level changes.
	StateChangesOnly bool
}

// Globals returns the global handlers of c, by kind name and then in file
// order. A lenient configuration has none.
func Globals(c *kapconf.Config) []Global {
	if c == nil || c.Lenient {
		return nil
	}
	var out []Global
	for _, k := range Kinds() {
		if !k.Global {
			continue
		}
		for _, s := range c.All(k.Section) {
			if !s.Bool("enabled") || !s.Bool("global") {
				continue
			}
			g := Global{Kind: k.Name, Options: map[string]any{}, StateChangesOnly: s.Bool("state-changes-only")}
			if w := s.String("workspace"); w != "" {
				g.Options["workspace"] = w
			}
			out = append(out, g)
		}
	}
	return out
}
