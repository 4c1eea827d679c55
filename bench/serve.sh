#!/usr/bin/env bash
# Figures of `tickrun serve` (issue 12): client and server on this
# machine, Telegraf-shaped gzip batches of 5,000 lines over HTTP.
#   seed      the seed script, 1M cpu points, no alert fires: points/s and peak RSS
#   separate  100 enabled tasks, each on its own measurement, the same 1M points
#   shared    100 tasks all on cpu
# Each workload runs ROUNDS times on a fresh server; the best round counts
# (the machine is shared) and every round is printed.
# Usage: bench/serve.sh [POINTS] [ROUNDS] [WORKLOADS...]
# The CPU profile of the same workloads comes from the Go benchmark:
#   go test ./server -run XXX -bench 'ServeWrite/shared100' -benchtime 100x -cpuprofile cpu.prof
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
rounds=${2:-5}
shift 2 || true
workloads=("${@:-seed separate shared}")
read -r -a workloads <<< "${workloads[*]}"
out=bench/out
mkdir -p "$out"
go build -o "$out/tickrun" ./cmd/tickrun
go build -o "$out/servewrite" ./bench/servewrite
go build -o "$out/tickgen" ./cmd/tickgen
[ -s "$out/cpu_100000.lp" ] || "$out/tickgen" -n 100000 -hosts 100 > "$out/cpu_100000.lp"
floor=
if [ -d ../shared/tools/decodefloor ]; then
	(cd ../shared/tools/decodefloor && go build -o "$OLDPWD/$out/decodefloor" .)
	floor=$out/decodefloor
fi
port=19092
for w in "${workloads[@]}"; do
	for r in $(seq "$rounds"); do
		dir=$(mktemp -d)
		"$out/tickrun" serve --bind 127.0.0.1:$port --data-dir "$dir" --log-level error 2> "$out/serve.log" &
		pid=$!
		for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/kapacitor/v1/ping" && break; sleep 0.05; done
		if [ -n "$floor" ]; then
			# How fast the machine is right now: line-protocol/v2 alone on
			# 100k points, one core (nominally 1.19M points/s).
			echo "floor: $("$floor" < "$out/cpu_100000.lp" 2>&1 | tail -1)" | tee -a "$out/serve_rounds.txt"
		fi
		"$out/servewrite" -url "http://127.0.0.1:$port" -workload "$w" -n "$n" -pid "$pid" | tee -a "$out/serve_rounds.txt"
		kill -TERM "$pid"; wait "$pid" || true
		rm -rf "$dir"
	done
done
