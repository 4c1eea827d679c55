#!/usr/bin/env bash
# Whole-process figures of tickrun's speed targets (issue 6): generates the
# data sets with cmd/tickgen, then runs five rounds; each round measures
# the machine first (shared/tools/decodefloor, when present) and then every
# workload once under /usr/bin/time, so that a slow spell of the machine
# hits all of them alike. Prints every round and the median points/s and
# peak RSS of each workload.
# Usage: bench/run.sh [POINTS] [ROUNDS]   (default 1000000 5)
# TCP=0 skips the two delivery workloads (about 20 s a round).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
rounds=${2:-5}
out=bench/out
mkdir -p "$out"
go build -o "$out/tickrun" ./cmd/tickrun
go build -o "$out/tickgen" ./cmd/tickgen
go build -o "$out/sink" ./bench/sink
[ -s "$out/cpu_$n.lp" ] || "$out/tickgen" -n "$n" -hosts 100 > "$out/cpu_$n.lp"
[ -s "$out/cpu_crit_$n.lp" ] || "$out/tickgen" -n "$n" -hosts 100 -crit 0.1 > "$out/cpu_crit_$n.lp"
floor=
if [ -d ../shared/tools/decodefloor ]; then
	(cd ../shared/tools/decodefloor && go build -o "$OLDPWD/$out/decodefloor" .)
	floor=$out/decodefloor
fi
if [ "${TCP:-1}" != 0 ]; then
	"$out/sink" -addr 127.0.0.1:17777 > "$out/sink.txt" &
	sink=$!
	trap 'kill $sink 2>/dev/null' EXIT
	sleep 0.2
fi

# name|input|args (script last)
workloads=(
	"seed_no_alert|cpu_$n.lp|bench/seed.tick"
	"window_mean|cpu_$n.lp|bench/window_mean.tick"
	"window_mean_by_host|cpu_$n.lp|bench/window_mean_by_host.tick"
	"seed_alerts_no_handler|cpu_crit_$n.lp|bench/seed.tick"
)
if [ "${TCP:-1}" != 0 ]; then
	workloads+=(
		"seed_alerts_tcp_per_event|cpu_crit_$n.lp|--queue-size 200000 bench/seed_tcp.tick"
		"seed_alerts_tcp_persistent|cpu_crit_$n.lp|--queue-size 200000 --handler bench/tcp_persistent.yaml bench/seed_topic.tick"
	)
fi

declare -A rates rss
floors=()
for r in $(seq "$rounds"); do
	line="round $r:"
	if [ -n "$floor" ]; then
		f=$("$floor" < "$out/cpu_$n.lp" 2>&1 | sed -n 's/.*: \([0-9]*\) points\/s.*/\1/p')
		floors+=("$f")
		line+=" floor $f"
	fi
	for w in "${workloads[@]}"; do
		IFS='|' read -r name input args <<< "$w"
		# shellcheck disable=SC2086
		/usr/bin/time -f "%e %M" "$out/tickrun" run $args < "$out/$input" > /dev/null 2> "$out/time.txt" || true
		if grep -q "dropped" "$out/time.txt" && ! grep -q " 0 dropped" "$out/time.txt"; then
			echo "$name: events were dropped:" >&2; grep dropped "$out/time.txt" >&2
		fi
		read -r secs kb < <(tail -1 "$out/time.txt")
		rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%d", n / s }')
		rates[$name]+="$rate "
		[ "$kb" -gt "${rss[$name]:-0}" ] && rss[$name]=$kb
		line+=" $name $rate"
	done
	echo "$line"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
[ ${#floors[@]} -gt 0 ] && printf '%-28s %12s points/s  (rounds: %s)\n' "decodefloor (1 core)" "$(median "${floors[@]}")" "${floors[*]}"
for w in "${workloads[@]}"; do
	IFS='|' read -r name _ _ <<< "$w"
	# shellcheck disable=SC2086
	printf '%-28s %12s points/s  (rounds: %s)  max RSS %d MiB\n' "$name" "$(median ${rates[$name]})" "${rates[$name]% }" $((rss[$name] / 1024))
done
