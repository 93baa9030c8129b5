#!/usr/bin/env bash
# optbench: the reference greedy against --allocator optimal, side by side
# (make bench-optimal; heavy: run it under flock /work/coord/heavy.lock).
#
# For every scenario it generates the extract once (seed 42, cached under
# $OPTBENCH_DIR), loads it once into a home of its own, then runs
#   assign run --date 2026-03-02 --days 28 --allocator greedy
#   assign run --date 2026-03-02 --days 28 --allocator optimal
# alternately, $RUNS times each, as separate processes timed by /usr/bin/time
# (wall seconds, peak RSS). It prints one markdown table of medians: wall,
# peak RSS, short boxes, short units, total score, and for optimal the bound,
# the gap and the dates certified (from the run's manifest), with the ratios
# optimal / greedy. Scenarios: small, medium (the generator's stock) and
# medium-scarce (gen --stock-factor $FACTOR).
#
#   SCENARIOS="small medium medium-scarce" RUNS=3 FACTOR=0.5 benchmarks/optbench.sh
set -euo pipefail

BIN=${BIN:-bin/assign}
DIR=${OPTBENCH_DIR:-benchmarks/.cache/optbench}
RUNS=${RUNS:-3}
FACTOR=${FACTOR:-0.5}
SCENARIOS=${SCENARIOS:-"small medium medium-scarce"}
DATE=${DATE:-2026-03-02}
DAYS=${DAYS:-28}

[ -x "$BIN" ] || { echo "optbench: $BIN is not built (make build)" >&2; exit 1; }
mkdir -p "$DIR"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }

prepare() { # scenario -> home
	local sc=$1 scale factor=1
	case $sc in
	small | medium | large) scale=$sc ;;
	*-scarce) scale=${sc%-scarce} factor=$FACTOR ;;
	*) echo "optbench: unknown scenario $sc" >&2; exit 2 ;;
	esac
	local ext=$DIR/$sc-ext home=$DIR/$sc-home
	if [ ! -f "$ext.done" ]; then
		echo "optbench: generating $sc ($scale, stock factor $factor)" >&2
		rm -rf "$ext"
		"$BIN" gen --scale "$scale" --seed 42 --stock-factor "$factor" --out "$ext" >&2
		touch "$ext.done"
	fi
	if [ ! -f "$home.done" ]; then
		echo "optbench: loading $sc" >&2
		rm -rf "$home"
		"$BIN" --home "$home" load "$ext" >&2
		touch "$home.done"
	fi
	echo "$home"
}

# one scenario allocator run -> appends "wall rss_kib short_boxes short_units score bound gap certified" to $out
one() {
	local home=$1 alloc=$2 out=$3 log tf
	log=$(mktemp) tf=$(mktemp)
	/usr/bin/time -f "%e %M" -o "$tf" "$BIN" --home "$home" run --date "$DATE" --days "$DAYS" --allocator "$alloc" >"$log"
	local wall rss sb su score run man bound=- gap=- cert=-
	read -r wall rss <"$tf"
	sb=$(awk -F'│' '$1 ~ /^ total/ {gsub(/ /, "", $4); print $4}' "$log")
	su=$(awk -F'│' '$1 ~ /^ total/ {gsub(/ /, "", $6); print $6}' "$log")
	score=$(awk '/^Total score of assigned lines:/ {print $NF}' "$log")
	run=$(awk '/^Run .* written to / {print $NF}' "$log")
	man=$run/manifest.json
	if [ "$alloc" = optimal ]; then
		bound=$(jq -r '.certificate.total.bound' "$man")
		gap=$(jq -r '.certificate.total.gap_pct' "$man")
		cert=$(jq -r '"\(.certificate.total.certified_dates)/\(.certificate.per_date | length) \(.certificate.chosen)"' "$man" | tr ' ' '_')
	fi
	echo "$wall $rss $sb $su $score $bound $gap $cert" >>"$out"
	rm -rf "$log" "$tf" "$run" # keep the home small; the run is not needed
}

echo "| scenario | allocator | wall s (median of $RUNS) | peak RSS MiB | short boxes | short units | total score | bound | gap % | dates certified, plan kept |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
for sc in $SCENARIOS; do
	home=$(prepare "$sc")
	g=$(mktemp) o=$(mktemp)
	for ((r = 1; r <= RUNS; r++)); do
		echo "optbench: $sc run $r/$RUNS" >&2
		one "$home" greedy "$g"
		one "$home" optimal "$o"
	done
	for a in greedy optimal; do
		f=$g
		[ $a = optimal ] && f=$o
		wall=$(cut -d' ' -f1 "$f" | median)
		rss=$(cut -d' ' -f2 "$f" | median | awk '{printf "%.0f", $1/1024}')
		# the plan is deterministic: the figures of the last run stand for all
		read -r _ _ sb su score bound gap cert < <(tail -n 1 "$f")
		echo "| $sc | $a | $wall | $rss | $sb | $su | $score | $bound | $gap | ${cert//_/ } |"
		eval "${a}_wall=$wall ${a}_rss=$rss"
	done
	awk -v sc="$sc" -v gw="$greedy_wall" -v ow="$optimal_wall" -v gr="$greedy_rss" -v orss="$optimal_rss" \
		'BEGIN {printf "| %s | optimal / greedy | %.2fx | %.2fx | | | | | | |\n", sc, ow/gw, orss/gr}'
	rm -f "$g" "$o"
done
