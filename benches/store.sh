#!/usr/bin/env bash
# The validated store beside the reference, same data, same run. Usage: benches/store.sh [EMPLOYERS] [REPEAT]
#   EMPLOYERS  province size (default 20000; generated into bench-data/p<N> if missing, seed 7)
#   REPEAT     runs of each timed command; the table shows the median (default 3)
# Times (wall seconds) and peak memory (GNU time) of whole processes:
#   wagewatch score from the raw folder | ingest (full) | score from the store | ingest of one new month |
#   re-ingest with nothing new | the reference's features for one date, polars and DuckDB.
# BASELINE=path/to/older/wagewatch also times that binary's full ingest (e.g. before a change).
# The store is ingested from the same province written as monthly exports (`generate --monthly`); the new
# month is the 2026-11 export, ingested into a store that holds every other month.
# Needs ../shared/reference/setup.sh for polars and DuckDB. Data goes to bench-data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
repeat=${2:-3}
bin=target/release/wagewatch
ref=../shared/reference
cargo build --release --quiet
export WAGEWATCH_PSEUDONYM_KEY=${WAGEWATCH_PSEUDONYM_KEY:-$(printf '%064x' 7)}
data=bench-data/p$n
[ -d "$data" ] || $bin generate --out "$data" --employers "$n" --seed 7 > /dev/null
models=bench-data/models
# the model every size scores with: trained on the 2,000-employer province, as serve.sh and soak.sh do
if [ ! -f "$models/bench/model.json" ]; then
  [ -f bench-data/demo/employers.parquet ] || $bin generate --out bench-data/demo --employers 2000 --seed 7 > /dev/null
  $bin train --data bench-data/demo --as-of 2026-12-01 --models "$models" --id bench --state bench-data/train-state > /dev/null
fi
work=bench-data/store-$n
rm -rf "$work"; mkdir -p "$work"
nproc_used=$(nproc); echo "cores: $nproc_used"

# median wall seconds and the peak RSS (MB) of that run, over $repeat runs of a command
timed() {
  local label=$1; shift
  local results=()
  for _ in $(seq "$repeat"); do
    [ -n "${BEFORE:-}" ] && eval "$BEFORE"
    /usr/bin/time -f "%e %M" -o "$work/.time" "$@" > "$work/.out" 2>&1 || { cat "$work/.out"; exit 1; }
    results+=("$(cat "$work/.time")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (repeat + 1) / 2 ))p" | {
    read -r secs kb; printf '%-52s %8.2f s %8d MB\n' "$label" "$secs" "$((kb / 1024))"; }
}

# the same province as monthly exports (payroll/2026-11.parquet, ...); "history" lacks the 2026-11 export,
# "full" has it: ingesting "full" into a store of "history" is the monthly ingest of new data
monthly=bench-data/p$n-monthly
[ -d "$monthly" ] || $bin generate --out "$monthly" --employers "$n" --seed 7 --monthly > /dev/null
new_month=2026-11
for d in history full; do
  mkdir -p "$work/$d/payroll" "$work/$d/payments"
  for f in "$monthly"/*.parquet; do ln "$f" "$work/$d/"; done
  for t in payroll payments; do
    for f in "$monthly/$t"/*.parquet; do
      [ "$d" = history ] && [ "$(basename "$f")" = "$new_month.parquet" ] && continue
      ln "$f" "$work/$d/$t/"
    done
  done
done
python3 - "$monthly" "$new_month" <<'PY'
import sys, pyarrow.parquet as pq
for t in ("payroll", "payments"):
    print(f"{t} export {sys.argv[2]}: {pq.ParquetFile(f'{sys.argv[1]}/{t}/{sys.argv[2]}.parquet').metadata.num_rows} rows")
PY

echo "== $n employers, median of $repeat, same run"
store=$work/store
score=(score --models "$models" --model bench --as-of 2026-12-01 --out "$work/wl.csv" --data)
timed "wagewatch score, raw folder" $bin "${score[@]}" "$data"
if [ -n "${BASELINE:-}" ]; then
  BEFORE="rm -rf $store" timed "baseline ingest, full ($BASELINE)" "$BASELINE" ingest --data "$work/full" --store "$store"
fi
BEFORE="rm -rf $store" timed "wagewatch ingest, full (empty store)" $bin ingest --data "$work/full" --store "$store"
timed "wagewatch score, from the store" $bin "${score[@]}" "$store"
BEFORE="rm -rf $work/state" timed "wagewatch rescore (publish a run), from the store" \
  $bin rescore --as-of 2026-12-01 --data "$store" --models "$models" --model bench --state "$work/state"
timed "wagewatch ingest, nothing new" $bin ingest --data "$work/full" --store "$store"
BEFORE="rm -rf $store && $bin ingest --data $work/history --store $store > /dev/null" \
  timed "wagewatch ingest, one new month" $bin ingest --data "$work/full" --store "$store"
grep -E "added|replaced|generation" "$work/.out" | sed 's/^/    /'
timed "reference features, polars (whole process)" python3 $ref/ref_features.py "$data" 2026-12-01 polars "$work/ref"
timed "reference features, DuckDB (whole process)" python3 $ref/ref_features.py "$data" 2026-12-01 duckdb "$work/ref"
du -sh "$data" "$store" | sed 's/^/    size /'
