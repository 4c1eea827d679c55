package alert

import (
	"sync"
	"sync/atomic"

	"github.com/tickrun/tickrun/pipeline/models"
)

// Inhibitor is one group's inhibition of an alert node with
// .inhibit(category, tags...) (alert.md §11): while it is active, events
// of any alert node with .category(category) whose tags hold all of the
// inhibitor's tag values are dropped. It is safe for concurrent use.
type Inhibitor struct {
	category string
	tags     []models.Tag
	active   atomic.Bool
}

// Set activates or deactivates the inhibitor: its node sent a non-OK or
// an OK event for its group.
func (i *Inhibitor) Set(active bool) { i.active.Store(active) }

// matches reports whether the inhibitor holds back an event of category
// with tags: every tag of the inhibitor has its value in tags, a missing
// tag counting as "" (Kapacitor compares map lookups).
func (i *Inhibitor) matches(category string, tags []models.Tag) bool {
	if i.category != category || !i.active.Load() {
		return false
	}
	for _, want := range i.tags {
		got := ""
		for _, t := range tags {
			if t.Key == want.Key {
				got = t.Value
				break
			}
		}
		if got != want.Value {
			return false
		}
	}
	return true
}

// inhibitors are a registry's inhibitors by category. Like topics they
// are shared by every task of the registry (a server).
type inhibitors struct {
	mu sync.RWMutex
	m  map[string][]*Inhibitor
}

// AddInhibitor registers an inactive inhibitor of category for the given
// tag values; RemoveInhibitor takes it away when its task stops.
func (r *Registry) AddInhibitor(category string, tags []models.Tag) *Inhibitor {
	i := &Inhibitor{category: category, tags: append([]models.Tag(nil), tags...)}
	r.inhibit.mu.Lock()
	defer r.inhibit.mu.Unlock()
	if r.inhibit.m == nil {
		r.inhibit.m = map[string][]*Inhibitor{}
	}
	r.inhibit.m[category] = append(r.inhibit.m[category], i)
	return i
}

// RemoveInhibitor unregisters an inhibitor.
func (r *Registry) RemoveInhibitor(i *Inhibitor) {
	r.inhibit.mu.Lock()
	defer r.inhibit.mu.Unlock()
	list := r.inhibit.m[i.category]
	for j, x := range list {
		if x == i {
			r.inhibit.m[i.category] = append(list[:j:j], list[j+1:]...)
			return
		}
	}
}

// Inhibited reports whether an active inhibitor holds back events of
// category with tags.
func (r *Registry) Inhibited(category string, tags []models.Tag) bool {
	r.inhibit.mu.RLock()
	defer r.inhibit.mu.RUnlock()
	for _, i := range r.inhibit.m[category] {
		if i.matches(category, tags) {
			return true
		}
	}
	return false
}
