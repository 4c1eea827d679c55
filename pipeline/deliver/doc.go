// Package deliver is tickrun's delivery machinery: a bounded queue per
// handler, filled without blocking, emptied by one goroutine that tries
// each item with retries (exponential backoff with jitter, bounded by
// attempts and time), optionally overlapping tries (in-flight), draining
// at close within a deadline, and counting every item once as sent or
// dropped. It moves (id, payload) pairs and knows nothing of alerts: the
// handler kinds (package handler) turn events into payloads and supply
// the try function.
//
// deliver imports only the standard library.
package deliver
