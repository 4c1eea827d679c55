#!/usr/bin/env bash
# Figures of scaling out (issue 15): tickrun serve instances sharing a
# NATS JetStream stream, all processes on this machine.
#   throughput  POINTS cpu points of 100 hosts published first (one message
#               per point, as Telegraf's outputs.nats with a subject per
#               host), then 1, 2 and 3 instances read the stream with the
#               seed script grouped by host (sharded): points/s, and each
#               process's share of the CPU used meanwhile.
#   failover    3 instances read a stream published at RATE points/s; one is
#               SIGKILLed; the time until its partitions are owned again and
#               their points flow (from each survivor's /metrics).
# Usage: bench/cluster.sh [POINTS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300000}
rate=${2:-20000}
out=bench/out
mkdir -p "$out"
go build -o "$out/tickrun" ./cmd/tickrun
go build -o "$out/tickgen" ./cmd/tickgen
go build -o "$out/natspub" ./bench/natspub
# The NATS server of go.mod, built from the module proxy like any module.
go build -o "$out/nats-server" github.com/nats-io/nats-server/v2
"$out/tickgen" -n "$n" -hosts 100 > "$out/cluster_$n.lp"
nport=14222
pids=()
cleanup() { for p in "${pids[@]}" ${nats:-}; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_nats() {
	ndir=$(mktemp -d)
	"$out/nats-server" -js -sd "$ndir" -a 127.0.0.1 -p $nport > "$out/nats.log" 2>&1 &
	nats=$!
	for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$nport) 2>/dev/null && break; sleep 0.05; done
}

# start_instance I: tickrun serve on port 1909I reading the stream.
start_instance() {
	local i=$1 dir
	dir=$(mktemp -d)
	cat > "$dir/kapacitor.conf" <<CONF
hostname = "bench"
data_dir = "$dir"
[http]
  bind-address = "127.0.0.1:1909$i"
  log-enabled = false
[logging]
  level = "ERROR"
[nats-input]
  enabled = true
  urls = ["nats://127.0.0.1:$nport"]
CONF
	"$out/tickrun" serve --config "$dir/kapacitor.conf" 2> "$out/cluster_$i.log" &
	pids[$i]=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:1909$i/kapacitor/v1/ping" && break; sleep 0.05; done
	curl -sf -XPOST "http://127.0.0.1:1909$i/kapacitor/v1/tasks" -d "$(printf '{"id":"cpu_by_host","type":"stream","dbrps":[{"db":"telegraf","rp":"autogen"}],"status":"enabled","script":%s}' \
		"$(python3 -c 'import json,sys; print(json.dumps(open("bench/seed_by_host.tick").read()))')")" > /dev/null
}

# points I: the broker points instance I processed.
points() { curl -sf "http://127.0.0.1:1909$1/metrics" | awk '/^tickrun_scaleout_points_total /{print $2}' | sed 's/e+0*/e/' | awk '{printf "%d", $1}'; }
# owned I: the shards instance I owns, comma-separated.
owned() { curl -sf "http://127.0.0.1:1909$1/metrics" | awk -F'"' '/^tickrun_scaleout_shards_owned/{printf "%s,", $2}'; }
# cpu PID: utime+stime of a process, in clock ticks.
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

echo "== throughput: $n points, one message each"
for k in 1 2 3; do
	start_nats
	# The first instance creates the stream (with its partitioning
	# subject transform), then leaves it to be filled.
	start_instance 1
	kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
	"$out/natspub" -url "nats://127.0.0.1:$nport" < "$out/cluster_$n.lp" | sed 's/^/  publish: /'
	c0=$(cpu "$nats")
	t0=$(date +%s.%N)
	for i in $(seq 1 $k); do start_instance "$i"; done
	declare -A p0
	for i in $(seq 1 $k); do p0[$i]=$(cpu "${pids[$i]}"); done
	while :; do
		total=0
		for i in $(seq 1 $k); do total=$((total + $(points "$i"))); done
		[ "$total" -ge "$n" ] && break
		sleep 0.05
	done
	t1=$(date +%s.%N)
	cb=$(( $(cpu "$nats") - c0 ))
	ct=0
	for i in $(seq 1 $k); do ct=$((ct + $(cpu "${pids[$i]}") - p0[$i])); done
	awk -v n="$n" -v k="$k" -v t0="$t0" -v t1="$t1" -v cb="$cb" -v ct="$ct" 'BEGIN {
		el = t1 - t0; printf "  %d instance(s): %d points in %.2fs = %.0f points/s; CPU: broker %.0f%%, tickrun %.0f%% (of %.2f s used); %.0f points/s per tickrun CPU-second\n",
			k, n, el, n/el, 100*cb/(cb+ct), 100*ct/(cb+ct), (cb+ct)/100, n/(ct/100) }'
	for i in $(seq 1 $k); do kill -TERM "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true; done
	kill -TERM "$nats"; wait "$nats" 2>/dev/null || true
	pids=()
done

echo "== failover: 3 instances, $rate points/s published, one SIGKILLed"
start_nats
start_instance 1
"$out/natspub" -url "nats://127.0.0.1:$nport" -rate "$rate" -loop < "$out/cluster_$n.lp" > /dev/null &
pub=$!
pids+=("$pub")
start_instance 2
start_instance 3
sleep 8
victim=$(owned 3)
echo "  instance 3 owns shards $victim"
kill -9 "${pids[3]}"
t0=$(date +%s.%N)
b1=$(points 1); b2=$(points 2)
while :; do
	all="$(owned 1)$(owned 2)"
	ok=1
	for s in ${victim//,/ }; do case ",$all" in *",$s,"*) ;; *) ok=0 ;; esac; done
	if [ $ok = 1 ]; then break; fi
	sleep 0.02
done
t1=$(date +%s.%N)
# Flowing: the survivors process more than the publishing rate would give
# them alone (they replay the killed one's backlog).
awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "  its shards owned again after %.2fs (lease-ttl 3s)\n", t1 - t0 }'
sleep 2
a1=$(points 1); a2=$(points 2)
echo "  survivors processed $(( a1 + a2 - b1 - b2 )) points in the $(awk -v t0="$t0" 'BEGIN{ "date +%s.%N" | getline t; printf "%.1f", t - t0 }')s since the kill"
kill "$pub" 2>/dev/null || true
