#!/usr/bin/env bash
# Judges wagewatch beside the reference pipeline in generated worlds (docs/measurements.md#worlds).
#
#   benches/worlds.sh [SEED] [WORLD ...]      (default: seed 21; all four worlds)
#
# For each world: generates 2,000 employers with `--scenario WORLD` into bench-data/worlds/WORLD, runs
# `wagewatch backtest` at 2026-06-01 and 2026-12-01 (trained at each date on what was known then), and the
# reference LightGBM trained on the 12 months of 2025 and on the freshest 24 months whose labels had closed
# before each date (2024-04..2026-03 for June, 2024-10..2026-09 for December), then judges the watchlists
# side by side with the reference's judge.py (AUC, AP, P@100, Brier, ECE per date and entity type).
# Needs the release binary (cargo build --release) and the reference's Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-21}
shift || true
worlds=("$@")
[ ${#worlds[@]} -gt 0 ] || worlds=(baseline developer_collapse complaint_surge manufacturing_downturn)
bin=target/release/wagewatch
ref=../shared/reference
out=bench-data/worlds
export WAGEWATCH_PSEUDONYM_KEY=${WAGEWATCH_PSEUDONYM_KEY:-$(printf '%064x' "$seed")}
mkdir -p "$out"
for w in "${worlds[@]}"; do
  d=$out/$w
  [ -f "$d/employers.parquet" ] || $bin generate --out "$d" --seed "$seed" --scenario "$w" > /dev/null
  $bin backtest --data "$d" --from 2026-06-01 --to 2026-12-01 --step 6m --out "$out/bt-$w" > /dev/null 2>&1
  python3 $ref/reference.py --data "$d" --train-as-of 2025-01-01..2025-12-01 --test-as-of 2026-06-01,2026-12-01 \
    --out "$out/ref1y-$w" > "$out/ref1y-$w.log" 2>&1
  python3 $ref/reference.py --data "$d" --train-as-of 2024-04-01..2026-03-01 --test-as-of 2026-06-01 \
    --out "$out/ref24a-$w" > "$out/ref24a-$w.log" 2>&1
  python3 $ref/reference.py --data "$d" --train-as-of 2024-10-01..2026-09-01 --test-as-of 2026-12-01 \
    --out "$out/ref24b-$w" > "$out/ref24b-$w.log" 2>&1
  for pair in "2026-06-01 ref24a" "2026-12-01 ref24b"; do
    set -- $pair
    python3 $ref/judge.py --data "$d" --as-of "$1" --json "$out/judge-$w-$1.json" \
      "wagewatch=$out/bt-$w/watchlists/watchlist_$1.csv" \
      "lgbm1y=$out/ref1y-$w/$1/watchlist_lgbm.csv" \
      "lgbm24m=$out/$2-$w/$1/watchlist_lgbm.csv"
  done
done
