// Package server is `tickrun serve`: a drop-in for kapacitord that the
// unmodified kapacitor CLI drives and Telegraf writes to. It wires the
// configuration (package config), the state file (package store), the
// HTTP API (package api) and the engine that runs tasks.
//
// engine.go is the only file that uses package pipeline: the seam where
// the engine's API meets the server's needs. Everything else speaks the
// api.Engine interface.
package server
