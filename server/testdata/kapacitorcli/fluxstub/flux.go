// Package flux is a stub: only the names the kapacitor CLI's import graph
// (influxdb/query) needs, so that it builds without libflux.
package flux

import "io"

type DialectType string

type ColReader interface{}

type Table interface {
	Do(f func(ColReader) error) error
}

type TableIterator interface {
	Do(f func(Table) error) error
}

type Result interface {
	Tables() TableIterator
}

type ResultIterator interface {
	More() bool
	Next() Result
	Release()
	Err() error
}

type MultiResultEncoder interface {
	Encode(w io.Writer, results ResultIterator) (int64, error)
}
