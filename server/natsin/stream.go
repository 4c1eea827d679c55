package natsin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// setup makes sure the stream and the buckets exist, retrying what the
// broker could not do yet; it returns an errConfig for what it never will.
func (r *run) setup(ctx context.Context) error {
	var b backoff
	for {
		err := r.trySetup(ctx)
		if err == nil {
			return nil
		}
		var ce errConfig
		if errors.As(err, &ce) {
			return err
		}
		d := b.next()
		r.logf("nats-input: setting up stream %q: %v; retrying in %s", r.in.cfg.Stream, err, d)
		if !sleep(ctx, d) {
			return nil
		}
	}
}

func (r *run) trySetup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.ensureStream(ctx); err != nil {
		return err
	}
	cfg := r.in.cfg
	ttl := time.Duration(cfg.LeaseTTL)
	var err error
	// The leases bucket forgets keys unrenewed for long (instances gone for
	// good); a held lease is renewed every ttl/3.
	r.leases, err = r.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket + "-leases",
		Description: "tickrun nats-input: partition leases and live instances",
		History:     1,
		TTL:         max(20*ttl, time.Minute),
	})
	if err != nil {
		return permanent(fmt.Errorf("bucket %s-leases: %w", cfg.Bucket, err))
	}
	r.checkpoints, err = r.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket + "-checkpoints",
		Description: "tickrun nats-input: shard checkpoints",
		History:     1,
	})
	if err != nil {
		return permanent(fmt.Errorf("bucket %s-checkpoints: %w", cfg.Bucket, err))
	}
	return nil
}

// permanent marks as errConfig a request the server refused (a 400:
// invalid or conflicting configuration), leaving timeouts and outages to
// be retried.
func permanent(err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) && api.Code == 400 {
		return errConfig{fmt.Errorf("nats-input: %w", err)}
	}
	return err
}

// ensureStream checks the stream's subject transform and, with
// create-stream, creates the stream or adds the transform and the
// subjects it lacks (leaving its other settings alone).
func (r *run) ensureStream(ctx context.Context) error {
	cfg := r.in.cfg
	src, dest := r.in.sch.transform()
	want := &jetstream.SubjectTransformConfig{Source: src, Destination: dest}
	st, err := r.js.Stream(ctx, cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if !cfg.creates() {
			return errConfig{fmt.Errorf("nats-input: stream %q does not exist, and [nats-input] create-stream is false", cfg.Stream)}
		}
		_, err = r.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:             cfg.Stream,
			Description:      "Telegraf line protocol, partitioned for tickrun",
			Subjects:         cfg.Subjects,
			SubjectTransform: want,
			Storage:          jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err // another instance made it meanwhile: check it next time
		}
		if err != nil {
			return permanent(fmt.Errorf("create stream %q: %w", cfg.Stream, err))
		}
		r.logf("nats-input: created stream %q: subjects %v, stored as %s → %s", cfg.Stream, cfg.Subjects, src, dest)
		return nil
	}
	if err != nil {
		return err
	}
	sc := st.CachedInfo().Config
	if tr := sc.SubjectTransform; tr != nil && (tr.Source != src || tr.Destination != dest) {
		if n := transformPartitions(tr.Destination); n >= 0 && n != cfg.Partitions {
			return errConfig{fmt.Errorf("nats-input: stream %q is divided into %d partitions (subject transform %s → %s), but [nats-input] partitions = %d: set it to %d, or use a new stream", cfg.Stream, n, tr.Source, tr.Destination, cfg.Partitions, n)}
		}
		return errConfig{fmt.Errorf("nats-input: stream %q has subject transform %s → %s, but [nats-input] stream, partitions and partition-token want %s → %s", cfg.Stream, tr.Source, tr.Destination, src, dest)}
	}
	missing := false
	for _, s := range cfg.Subjects {
		if !slices.Contains(sc.Subjects, s) {
			missing = true
		}
	}
	if sc.SubjectTransform != nil && !missing {
		return nil
	}
	if !cfg.creates() {
		if sc.SubjectTransform == nil {
			return errConfig{fmt.Errorf("nats-input: stream %q has no subject transform; want %s → %s (or set [nats-input] create-stream = true)", cfg.Stream, src, dest)}
		}
		return nil // its subjects are the operator's business
	}
	if sc.SubjectTransform == nil && st.CachedInfo().State.Msgs > 0 {
		r.logf("nats-input: stream %q had no subject transform: its %d messages stored so far belong to no partition and will not be read", cfg.Stream, st.CachedInfo().State.Msgs)
	}
	for _, s := range cfg.Subjects {
		if !slices.Contains(sc.Subjects, s) {
			sc.Subjects = append(sc.Subjects, s)
		}
	}
	sc.SubjectTransform = want
	if _, err := r.js.UpdateStream(ctx, sc); err != nil {
		return permanent(fmt.Errorf("update stream %q: %w", cfg.Stream, err))
	}
	r.logf("nats-input: updated stream %q: subjects %v, stored as %s → %s", cfg.Stream, sc.Subjects, src, dest)
	return nil
}
