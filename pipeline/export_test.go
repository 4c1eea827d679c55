package pipeline

// Test helpers of package pipeline that the external tests
// (package pipeline_test) share.

// StartBenchSink is startBenchSink for the benchmarks of package
// pipeline_test.
var StartBenchSink = startBenchSink
