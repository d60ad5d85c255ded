#!/usr/bin/env bash
# Benchmark of ingest and the generator, measured beside a plain polars read of the same files in the
# same run. Usage: benches/ingest.sh [EMPLOYERS] [--big]
#   EMPLOYERS  province size for the ingest comparison (default 2000)
#   --big      also time the generator at 20,000 employers (a few minutes, several GB of disk)
# Data goes to bench-data/ (git-ignored). Needs ../shared/reference/setup.sh for polars.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
big=${2:-}
bin=target/release/wagewatch
cargo build --release --quiet
export WAGEWATCH_PSEUDONYM_KEY=${WAGEWATCH_PSEUDONYM_KEY:-$(printf '%064x' 7)}
mkdir -p bench-data

# peak RSS (MB) and wall seconds of a command, from GNU time
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o bench-data/.time "$@" > bench-data/.out 2>&1 || { cat bench-data/.out; exit 1; }
  read -r secs kb < bench-data/.time
  printf '%-48s %8.2f s %8.0f MB\n' "$label" "$secs" "$((kb / 1024))"
}

echo "== generator"
rm -rf "bench-data/p$n" "bench-data/p$n-csv"
measure "generate $n employers (parquet)" $bin generate --out "bench-data/p$n" --employers "$n" --seed 7
measure "generate $n employers (csv)" $bin generate --out "bench-data/p$n-csv" --employers "$n" --seed 7 --format csv
grep -E '^\s+\w+\s+[0-9]+ rows' bench-data/.out || true
if [ "$big" = "--big" ]; then
  rm -rf bench-data/p20000
  measure "generate 20000 employers (parquet)" $bin generate --out bench-data/p20000 --employers 20000 --seed 7
  cat bench-data/.out | grep -E 'rows' || true
fi

echo "== ingest + validation vs plain polars read, same files, same run"
rows=$(python3 - "bench-data/p$n" <<'PY'
import sys, glob, pyarrow.parquet as pq
print(sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob(sys.argv[1] + "/*.parquet")))
PY
)
echo "rows over all tables: $rows"
for i in 1 2 3; do
  measure "wagewatch validate (parquet) run $i" $bin validate --data "bench-data/p$n"
  grep 'read and checked' bench-data/.out
done
python3 benches/polars_read.py "bench-data/p$n" --repeat 3
measure "polars read (parquet, whole process)" python3 benches/polars_read.py "bench-data/p$n" --repeat 1
measure "wagewatch validate (csv)" $bin validate --data "bench-data/p$n-csv"
grep 'read and checked' bench-data/.out
csv_bytes=$(du -cb bench-data/p$n-csv/*.csv | tail -1 | cut -f1)
echo "csv bytes: $csv_bytes"
