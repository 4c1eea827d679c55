module github.com/influxdata/flux

go 1.21
