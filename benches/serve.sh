#!/usr/bin/env bash
# Load benchmark of the API on loopback: wrk against `wagewatch serve` over the 2,000-employer demo
# province's run as of 2026-12-01, both on this machine (client included).
# Usage: benches/serve.sh [SECONDS] [CONNECTIONS]   (defaults 30 s, 64 connections)
# Needs wrk (apt-get install wrk). Data, model and state go to bench-data/ (git-ignored).
# The request: GET /v1/watchlist?limit=50&region=<the district with most entities>, as an inspector of
# that district (so every request is authenticated, region-checked and audited).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
conns=${2:-64}
bin=target/release/wagewatch
port=18090
cargo build --release --quiet
export WAGEWATCH_PSEUDONYM_KEY=${WAGEWATCH_PSEUDONYM_KEY:-$(printf '%064x' 7)}
data=bench-data/demo
models=bench-data/models
state=bench-data/serve-state
mkdir -p bench-data
[ -f "$data/employers.parquet" ] || $bin generate --out "$data" --employers 2000 --seed 7 > /dev/null
[ -f "$models/bench/model.json" ] || $bin train --data "$data" --as-of 2026-12-01 --models "$models" --id bench > /dev/null
rm -rf "$state"
$bin rescore --state "$state" --data "$data" --models "$models" --model bench --as-of 2026-12-01 2> /dev/null
admin=$($bin token create --state "$state" --role admin --name bench-admin 2> /dev/null)
$bin serve --state "$state" --listen 127.0.0.1:$port --no-schedule --config /dev/null 2> bench-data/serve.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
district=$(curl -sf -H "Authorization: Bearer $admin" "http://127.0.0.1:$port/v1/watchlist/export?format=csv" \
  | python3 -c 'import csv,sys,collections; c=collections.Counter(r["region_code"] for r in csv.DictReader(sys.stdin)); print(c.most_common(1)[0][0])')
inspector=$($bin token create --state "$state" --role inspector --region "$district" --name bench-inspector 2> /dev/null)
url="http://127.0.0.1:$port/v1/watchlist?limit=50&region=$district"
rows=$(curl -sf -H "Authorization: Bearer $inspector" "$url" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(len(p["items"]), "items of", p["total"])')
echo "district $district: $rows per page; $(nproc) cores; wrk $conns connections for $secs s"
wrk -t2 -c"$conns" -d5s -H "Authorization: Bearer $inspector" "$url" > /dev/null   # warm-up
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $inspector" "$url" | tee bench-data/serve-wrk.txt
audited=$($bin audit --state "$state" --route /v1/watchlist --limit 1000000 | wc -l)
echo "audit entries for /v1/watchlist: $audited"
if grep -q 'Non-2xx\|Socket errors' bench-data/serve-wrk.txt; then echo "ERRORS during the run"; exit 1; fi
