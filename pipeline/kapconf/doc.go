// Package kapconf reads the user's kapacitor.conf: the sections some
// package registered a Schema for (each handler kind its own section),
// with Kapacitor's defaults, every error as "FILE:LINE: [section] key:
// problem", and no secret ever printed. The other sections are listed as
// ignored.
//
// kapconf imports nothing of tickrun.
package kapconf
