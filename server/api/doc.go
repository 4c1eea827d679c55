// Package api serves Kapacitor's HTTP API for `tickrun serve`, so that the
// unmodified kapacitor CLI, Telegraf and Chronograf can drive it: ping,
// writes (/write, /kapacitor/v1/write, /api/v2/write and Telegraf's
// CREATE DATABASE probe on /query), tasks, templates, alert topics,
// their events and handlers, users, /debug/vars, /loglevel, httpOut routes
// and, when the server gives it one, GET /metrics.
// Answers match what Kapacitor 1.8.3 sent (testdata/api): status codes,
// JSON field order, 4-space indentation without a trailing newline,
// Kapacitor's error texts, X-Kapacitor-Version on every answer and gzip
// when the client asks.
//
// State lives in package store; running tasks are the business of an
// Engine (implemented by package server on the pipeline). This package
// must not import the pipeline, so that the engine can change behind the
// interface.
package api
