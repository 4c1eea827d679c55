#!/usr/bin/env bash
# Whole-process figures of tickrun's speed targets (issue 6): generates the
# data sets with cmd/tickgen, runs each workload five times under
# /usr/bin/time -v and prints the median points/s and the peak RSS.
# Usage: bench/run.sh [POINTS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
out=bench/out
mkdir -p "$out"
go build -o "$out/tickrun" ./cmd/tickrun
go build -o "$out/tickgen" ./cmd/tickgen
[ -s "$out/cpu_$n.lp" ] || "$out/tickgen" -n "$n" -hosts 100 > "$out/cpu_$n.lp"
[ -s "$out/cpu_crit_$n.lp" ] || "$out/tickgen" -n "$n" -hosts 100 -crit 0.1 > "$out/cpu_crit_$n.lp"

run() { # name script input [flags...]
	local name=$1 script=$2 input=$3; shift 3
	local rates=() rss=0
	for i in 1 2 3 4 5; do
		/usr/bin/time -v "$out/tickrun" run "$@" "$script" < "$input" 2> "$out/time.txt" > /dev/null
		local secs kb
		secs=$(grep 'Elapsed (wall clock)' "$out/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
		kb=$(grep 'Maximum resident' "$out/time.txt" | awk '{print $NF}')
		rates+=("$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%d", n / s }')")
		[ "$kb" -gt "$rss" ] && rss=$kb
	done
	local median
	median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 3p)
	printf '%-28s %12s points/s  (runs: %s)  max RSS %d MiB\n' "$name" "$median" "${rates[*]}" $((rss / 1024))
}

# The machine's speed varies from hour to hour; the input-side floor
# (line-protocol/v2 alone, from shared/tools) calibrates the figures.
if [ -d ../shared/tools/decodefloor ]; then
	(cd ../shared/tools/decodefloor && go build -o "$OLDPWD/$out/decodefloor" .)
	printf '%-28s ' "decodefloor (1 core)"; "$out/decodefloor" < "$out/cpu_$n.lp" 2>&1
fi
run seed_no_alert bench/seed.tick "$out/cpu_$n.lp"
run window_mean bench/window_mean.tick "$out/cpu_$n.lp"
run window_mean_by_host bench/window_mean_by_host.tick "$out/cpu_$n.lp"
run seed_alerts_no_handler bench/seed.tick "$out/cpu_crit_$n.lp"
