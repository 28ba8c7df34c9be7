#!/usr/bin/env bash
# fleetsim against the hand-written reference program (benches/reference.rs) on the same fleet
# model (scenarios/bench-reference.toml), measured in one run so that the ratios mean something
# on any machine.
#
# For each size it runs PAIRS pairs, interleaved (fleetsim first in odd pairs, the reference
# first in even ones), each program from an empty fleet over the size's horizon; fleetsim as a
# user runs it (billing, every CSV, the charts and report.html, into a temporary folder). Wall
# time and peak memory come from /usr/bin/time. It prints, per size, the ratio of instances
# simulated per second (fleetsim / reference, > 1 means fleetsim is faster) and of peak memory
# per live instance (fleetsim / reference), as median [min–max] over the pairs, then the
# absolute figures.
#
# The two must agree with the model, and so with each other, on instances created and the
# time-average number alive (exact expectations and standard deviations printed by the
# reference): a |z| of 4 or more fails the script (exit 1), because then the ratio would
# compare different work.
#
# Usage: benches/compare-reference.sh            (5 pairs at 30k, 300k and 1M alive; ~10 min)
#        PAIRS=3 SIZES="30k 300k" benches/compare-reference.sh
# Sizes (steady state λ·6 h; horizons of several mean lifetimes, started empty):
#   30k: 5,000 requests/h over 240 h;  300k: 50,000/h over 48 h;  1m: 166,667/h over 48 h.
# The 1m pair needs about 0.4 GB of memory and 1.1 GB of temporary disk for instances.csv.
set -euo pipefail

cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-5}
SIZES=${SIZES:-"30k 300k 1m"}
SEED=${SEED:-1}
ZMAX=4

die() {
    echo "compare-reference: $*" >&2
    exit 1
}

[[ -x /usr/bin/time ]] || die "needs /usr/bin/time (GNU time) for peak memory"
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || die "PAIRS must be a positive whole number, not '$PAIRS'"

echo "building (release): fleetsim and the reference example" >&2
cargo build --release --quiet --bin fleetsim --example reference
FLEETSIM=target/release/fleetsim
REFERENCE=target/release/examples/reference
SCENARIO=scenarios/bench-reference.toml

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

json_field() { # file key -> number
    sed -n "s/^ *\"$2\": *\([-0-9.eE+]*\),*$/\1/p" "$1"
}
kv_field() { # file key -> value
    sed -n "s/^$2=//p" "$1"
}
stats() { # numbers on stdin -> "median min max"
    sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.6g %.6g %.6g\n", m, v[1], v[NR] }'
}
fmt_range() { # "median min max" [format] -> "median [min–max]"
    local fmt=${2:-%.3g}
    awk -v f="$fmt" '{ printf f " [" f "–" f "]", $1, $2, $3 }' <<<"$1"
}

run_fleetsim() { # rate hours -> $tmp/f.time, $tmp/f.json
    rm -rf "$tmp/out"
    /usr/bin/time -f '%e %M' -o "$tmp/f.time" "$FLEETSIM" run "$SCENARIO" --out "$tmp/out" -q \
        --seed "$SEED" --set "workloads.0.arrival.rate_per_hour=$1" --set "duration=$2h" ||
        die "fleetsim failed"
    cp "$tmp/out/summary.json" "$tmp/f.json"
    rm -rf "$tmp/out"
    sync
}
run_reference() { # rate hours -> $tmp/r.time, $tmp/r.txt
    /usr/bin/time -f '%e %M' -o "$tmp/r.time" "$REFERENCE" --rate-per-hour "$1" --hours "$2" \
        --seed "$SEED" >"$tmp/r.txt" || die "the reference failed"
}

# Peak memory of a near-empty run of each (a few instances over an hour): the fixed cost, so
# that the memory per live instance can also be given above it.
run_fleetsim 1 1
base_f_kb=$(awk '{ print $2 }' "$tmp/f.time")
run_reference 1 1
base_r_kb=$(awk '{ print $2 }' "$tmp/r.time")

echo "load before: $(uptime)"
echo "peak RSS of a near-empty run: fleetsim $((base_f_kb / 1024)) MB, reference $((base_r_kb / 1024)) MB"
failed=0
summary=()
for size in $SIZES; do
    case $size in
        30k) rate=5000 hours=240 ;;
        300k) rate=50000 hours=48 ;;
        1m) rate=166667 hours=48 ;;
        *) die "unknown size '$size' (30k, 300k or 1m)" ;;
    esac
    : >"$tmp/pairs"
    for ((i = 1; i <= PAIRS; i++)); do
        if ((i % 2)); then
            run_fleetsim "$rate" "$hours"
            run_reference "$rate" "$hours"
        else
            run_reference "$rate" "$hours"
            run_fleetsim "$rate" "$hours"
        fi
        read -r f_wall f_kb <"$tmp/f.time"
        read -r r_wall r_kb <"$tmp/r.time"
        f_created=$(json_field "$tmp/f.json" instances_created)
        f_mean=$(json_field "$tmp/f.json" mean_instances_alive)
        f_peak=$(json_field "$tmp/f.json" peak_instances_alive)
        f_eps=$(json_field "$tmp/f.json" events_per_second)
        f_events=$(json_field "$tmp/f.json" events_processed)
        r_created=$(kv_field "$tmp/r.txt" instances_created)
        r_mean=$(kv_field "$tmp/r.txt" mean_instances_alive)
        r_peak=$(kv_field "$tmp/r.txt" peak_instances_alive)
        r_events=$(kv_field "$tmp/r.txt" events_processed)
        echo "$f_wall $f_kb $f_created $f_mean $f_peak $f_eps $f_events" \
            "$r_wall $r_kb $r_created $r_mean $r_peak $r_events" >>"$tmp/pairs"
        echo "  $size pair $i: fleetsim ${f_wall}s ${f_kb}KB, reference ${r_wall}s ${r_kb}KB" >&2
    done

    # Agreement, on the last pair's figures (every pair runs the same seed).
    e_created=$(kv_field "$tmp/r.txt" expected_instances_created)
    sd_created=$(kv_field "$tmp/r.txt" sd_instances_created)
    e_mean=$(kv_field "$tmp/r.txt" expected_mean_instances_alive)
    sd_mean=$(kv_field "$tmp/r.txt" sd_mean_instances_alive)
    steady=$(kv_field "$tmp/r.txt" steady_state_alive)
    agreement=$(awk -v fc="$f_created" -v rc="$r_created" -v fm="$f_mean" -v rm="$r_mean" \
        -v ec="$e_created" -v sc="$sd_created" -v em="$e_mean" -v sm="$sd_mean" -v zmax="$ZMAX" '
        function abs(x) { return x < 0 ? -x : x }
        BEGIN {
            z[1] = (fc - ec) / sc; n[1] = "fleetsim created vs model"
            z[2] = (rc - ec) / sc; n[2] = "reference created vs model"
            z[3] = (fc - rc) / (sc * sqrt(2)); n[3] = "created, fleetsim vs reference"
            z[4] = (fm - em) / sm; n[4] = "fleetsim mean alive vs model"
            z[5] = (rm - em) / sm; n[5] = "reference mean alive vs model"
            z[6] = (fm - rm) / (sm * sqrt(2)); n[6] = "mean alive, fleetsim vs reference"
            bad = 0
            for (i = 1; i <= 6; i++) {
                ok = abs(z[i]) < zmax
                if (!ok) bad = 1
                printf "    %-36s z = %+6.2f %s\n", n[i], z[i], ok ? "ok" : "DISAGREE"
            }
            exit bad
        }') || failed=1

    col() { awk -v c="$1" '{ print $c }' "$tmp/pairs"; }
    speed=$(awk '{ print ($3 / $1) / ($10 / $8) }' "$tmp/pairs" | stats)
    memory=$(awk '{ print ($2 / $5) / ($9 / $12) }' "$tmp/pairs" | stats)
    f_wall_s=$(col 1 | stats)
    r_wall_s=$(col 8 | stats)
    f_ips=$(awk '{ print $3 / $1 / 1e6 }' "$tmp/pairs" | stats)
    r_ips=$(awk '{ print $10 / $8 / 1e6 }' "$tmp/pairs" | stats)
    f_mb=$(awk '{ print $2 / 1024 }' "$tmp/pairs" | stats)
    r_mb=$(awk '{ print $9 / 1024 }' "$tmp/pairs" | stats)
    f_bpi=$(awk '{ print $2 * 1024 / $5 }' "$tmp/pairs" | stats)
    r_bpi=$(awk '{ print $9 * 1024 / $12 }' "$tmp/pairs" | stats)
    f_mbpi=$(awk -v b="$base_f_kb" '{ print ($2 - b) * 1024 / $5 }' "$tmp/pairs" | stats)
    r_mbpi=$(awk -v b="$base_r_kb" '{ print ($9 - b) * 1024 / $12 }' "$tmp/pairs" | stats)
    f_meps=$(awk '{ print $6 / 1e6 }' "$tmp/pairs" | stats)

    echo
    echo "== $size alive: $rate requests/h over ${hours} h from empty (steady state $(printf %.0f "$steady") alive)"
    echo "  agreement (|z| < $ZMAX; model: created $(printf %.0f "$e_created") ± $(printf %.0f "$sd_created")," \
        "mean alive $(printf %.1f "$e_mean") ± $(printf %.1f "$sd_mean")):"
    echo "$agreement"
    echo "  fleetsim:  created $f_created, mean alive $f_mean, peak alive $f_peak, events $f_events"
    echo "  reference: created $r_created, mean alive $r_mean, peak alive $r_peak, events $r_events"
    echo "  RATIO instances/s, fleetsim / reference:      $(fmt_range "$speed" %.2f)  (> 1: fleetsim faster)"
    echo "  RATIO peak memory per live instance, f / r:   $(fmt_range "$memory" %.2f)  (> 1: fleetsim larger)"
    echo "  wall s:            fleetsim $(fmt_range "$f_wall_s"), reference $(fmt_range "$r_wall_s")"
    echo "  M instances/s:     fleetsim $(fmt_range "$f_ips"), reference $(fmt_range "$r_ips")"
    echo "  fleetsim M events/s (summary.json, simulation only): $(fmt_range "$f_meps")"
    echo "  peak RSS MB:       fleetsim $(fmt_range "$f_mb"), reference $(fmt_range "$r_mb")"
    echo "  bytes per live instance (peak RSS / peak alive): fleetsim $(fmt_range "$f_bpi" %.0f), reference $(fmt_range "$r_bpi" %.0f)"
    echo "  same, above a near-empty run:                    fleetsim $(fmt_range "$f_mbpi" %.0f), reference $(fmt_range "$r_mbpi" %.0f)"
    summary+=("$(printf '%-5s instances/s ratio %s   memory/instance ratio %s   fleetsim %s B/instance' \
        "$size" "$(fmt_range "$speed" %.2f)" "$(fmt_range "$memory" %.2f)" "$(fmt_range "$f_bpi" %.0f)")")
done
echo
echo "load after: $(uptime)"
echo "summary ($PAIRS pairs, median [min–max]):"
printf '  %s\n' "${summary[@]}"
if ((failed)); then
    echo "compare-reference: FAILED: fleetsim and the reference disagree (see DISAGREE above); the ratios compare different work" >&2
    exit 1
fi
echo "agreement: every |z| < $ZMAX"
