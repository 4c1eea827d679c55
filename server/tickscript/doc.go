// Package tickscript answers what the server's task API needs to know of
// a script without running it: Kapacitor's formatted text
// (script-format=formatted), the task type, the dbrp statements, the
// measurements its from() nodes read (to route writes), the topics its
// alert nodes publish to, a template's vars with their descriptions, and
// the conversion of Kapacitor's typed vars to the engine's strings.
//
// It reads the syntax tree only (packages ast and parser); it must not
// import the engine.
package tickscript
