// Package udf hosts Kapacitor user-defined functions (UDFs): external
// programs that speak Kapacitor's UDF agent protocol (server.md §6), either
// a process started per use with stdin and stdout carrying the protocol, or
// a Unix socket served by a long-running program.
//
// A Client drives one UDF: Info asks what it wants, provides and accepts as
// options, Init hands it the script's options, WritePoint and WriteBatch
// send it data, and whatever it sends back (any number of points or batches,
// at any time) is handed to the callbacks of Options on one goroutine of the
// Client's own. Snapshot and Restore carry its state for the server.
// Keepalives go out every half timeout; a UDF that answers nothing within
// its timeout, exits, writes something that is not a protocol message or
// answers with an error fails the Client with one *Error naming it, which is
// delivered once to Options.OnError and returned by every later call.
//
// The messages are the official Go types of the protocol, the udf/agent
// package of the Kapacitor module (it builds without cgo and needs only
// google.golang.org/protobuf). Points, nearly all the traffic, also have a
// hand-written encoder and decoder by the protocol's field table
// (fastwire.go), checked against the official types by tests and fuzz
// targets, because protobuf's generic code costs some twenty allocations
// per point each way on their maps. The framing (a uvarint length before
// each message) is this package's own, so a garbage length is an error and
// never an allocation of that size.
//
// The package has its own point and batch types and imports no other package
// of tickrun: the pipeline's udf node converts.
package udf
