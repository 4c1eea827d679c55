#!/usr/bin/env bash
# Backtest figures (issue 13): the batch_groupby_host case scaled to 100
# hosts x 1 day of 10 s points (864,000 points, cmd/tickgen), loaded into a
# throwaway influxd (Debian's 1.6.7: temp config, data dir and free ports
# on 127.0.0.1, nothing else on), then a 24 h backtest of
# bench/batch_groupby_host.tick (288 queries of 5 min, 100 series each)
# and, for comparison, a stream backtest of the same day through
# bench/window_mean_by_host.tick (864,000 points read back from InfluxDB).
# Each run is timed whole-process with /usr/bin/time; the batch run's
# summary line says how long it waited on InfluxDB.
# Usage: bench/backtest.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=bench/out
mkdir -p "$out"
go build -o "$out/tickrun" ./cmd/tickrun
go build -o "$out/tickgen" ./cmd/tickgen
go build -o "$out/sink" ./bench/sink
data=$out/cpu_day_100.lp
start=2023-11-14T00:00:00Z
stop=2023-11-15T00:00:00Z
[ -s "$data" ] || "$out/tickgen" -n 864000 -hosts 100 -start 1699920000 > "$data"

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
http=$(freeport)
rpc=$(freeport)
cat > "$dir/influxdb.conf" <<EOF
reporting-enabled = false
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  index-version = "inmem"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[http]
  bind-address = "127.0.0.1:$http"
  log-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
EOF
influxd -config "$dir/influxdb.conf" > "$dir/influxd.log" 2>&1 &
influx=$!
"$out/sink" -addr 127.0.0.1:17777 > "$out/sink.txt" &
sink=$!
trap 'kill $influx $sink 2>/dev/null; wait $influx 2>/dev/null; rm -rf "$dir"' EXIT
url=http://127.0.0.1:$http
for _ in $(seq 100); do curl -sf "$url/ping" > /dev/null && break; sleep 0.1; done
curl -sf -XPOST "$url/query" --data-urlencode 'q=CREATE DATABASE telegraf' > /dev/null
split -l 50000 "$data" "$dir/part."
for p in "$dir"/part.*; do
	curl -sf -XPOST "$url/write?db=telegraf&precision=ns" --data-binary @"$p" > /dev/null
done
rm -f "$dir"/part.*
echo "loaded $(wc -l < "$data") points into influxd on $url"

for r in $(seq "$rounds"); do
	/usr/bin/time -f "%e s, %M KiB" "$out/tickrun" run --influxdb "$url" --start $start --stop $stop \
		bench/batch_groupby_host.tick 2> "$out/batch.txt"
	b=$(grep -o '[0-9]* queries.*waiting on InfluxDB' "$out/batch.txt")
	bt=$(tail -1 "$out/batch.txt")
	/usr/bin/time -f "%e s, %M KiB" "$out/tickrun" run --influxdb "$url" --start $start --stop $stop \
		bench/window_mean_by_host.tick 2> "$out/stream.txt"
	s=$(grep -o '[0-9]* points read.*' "$out/stream.txt")
	st=$(tail -1 "$out/stream.txt")
	echo "round $r: batch $bt ($b) | stream $st ($s)"
done
