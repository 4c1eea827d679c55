package influx

// Messages with Kapacitor's exact wording, so that tickrun's errors read
// as kapacitord's do. Each cites the Kapacitor source it comes from
// (spec/server.md §5.2). Some are capitalised or oddly worded there; they
// are kept as they are.
const (
	// kap:query.go NewQuery.
	msgParse        = "failed to parse InfluxQL query: "
	msgOneStatement = "query must be a single select statement, got %d statements"
	msgNotSelect    = "query is not a select statement %q"
	// kap:query.go Dimensions.
	msgTwoTimeDims = "groupBy cannot have more than one time dimension"
	// kap:batch.go newQueryNode.
	msgFillOption    = "unexpected fill option %s"
	msgEveryAndCron  = "must not set both 'every' and 'cron' properties"
	msgEveryNegative = "'every' duration must must non-negative"
	msgNoSchedule    = "must define one of 'every' or 'cron'"
	// kap:influxdb/client.go do: a non-2xx answer without a JSON error.
	msgInvalidResponse = "invalid response: code %d: body: %s"
	// kap:influxdb/client.go do: a 2xx answer that is not JSON.
	msgDecode = "failed to decode JSON: "
	// kap:influxdb/client.go parseURLs.
	msgScheme = "Unsupported protocol scheme: %s, your address must start with http:// or https://"
	// kap:services/influxdb/config.go Validate.
	msgNoName  = "influxdb cluster must be given a name"
	msgBadName = "influxdb cluster name must contain only numbers, letters or '.', '-', and '_' characters"
	msgNoURL   = "must specify at least one InfluxDB URL"
	// kap:services/influxdb/service.go NewNamedClient.
	msgNoSuchName = "no such InfluxDB config %s"
	// tickrun's own: Kapacitor refuses such a kapacitor.conf at start.
	msgNoDefault   = "no default InfluxDB config: mark one [[influxdb]] section default = true"
	msgTwoDefaults = "more than one [[influxdb]] section is marked default"
)
