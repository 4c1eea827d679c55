#!/usr/bin/env bash
# Peak RSS of tickrun over growing inputs of 10k series (issue 6: memory is
# flat, no growth beyond per-group state). The points are generated on the
# fly by cmd/tickgen and piped in, so no file is written.
# Usage: bench/memory.sh [POINTS...]   (default 1000000 10000000 100000000)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
go build -o "$out/tickrun" ./cmd/tickrun
go build -o "$out/tickgen" ./cmd/tickgen
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000 100000000)
for script in bench/seed_by_host.tick bench/window_mean_by_host.tick; do
	for n in "${sizes[@]}"; do
		"$out/tickgen" -n "$n" -hosts 10000 -crit 0.001 |
			/usr/bin/time -f "%e %M" "$out/tickrun" run "$script" 2> "$out/mem.txt" > /dev/null
		read -r secs kb < <(tail -1 "$out/mem.txt")
		printf '%-32s %11d points  %7.1f s  max RSS %6.1f MiB\n' "$(basename "$script")" "$n" "$secs" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
	done
done
