#!/usr/bin/env bash
# Load benchmark of the API on loopback: wrk against `wagewatch serve` over the 2,000-employer demo
# province's run as of 2026-12-01, both on this machine (client included), and beside it nginx serving
# the identical response body from a file, in the same run (wagewatch, nginx, wagewatch, nginx).
# Usage: benches/serve.sh [SECONDS] [CONNECTIONS]   (defaults 30 s, 64 connections)
# BIN=path/to/another/wagewatch serves with that binary instead of building this tree's (e.g. before a change).
# Needs wrk and nginx (apt-get install wrk nginx). Data, model and state go to bench-data/ (git-ignored).
# The request: GET /v1/watchlist?limit=50&region=<the district with most entities>, as an inspector of
# that district (so every request is authenticated, region-checked and audited). nginx: 2 workers,
# sendfile, no access log, keep-alive without a request limit.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
conns=${2:-64}
bin=${BIN:-target/release/wagewatch}
port=18090
[ -n "${BIN:-}" ] || cargo build --release --quiet
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
# nginx with the same body, from a file.
ngx=$PWD/bench-data/nginx
mkdir -p "$ngx/www/v1"
curl -sf -H "Authorization: Bearer $inspector" "$url" > "$ngx/www/v1/watchlist"
cat > "$ngx/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  default_type application/json;
  client_body_temp_path $ngx/tmp;
  proxy_temp_path $ngx/tmp;
  fastcgi_temp_path $ngx/tmp;
  uwsgi_temp_path $ngx/tmp;
  scgi_temp_path $ngx/tmp;
  server { listen 127.0.0.1:$((port + 1)); root $ngx/www; }
}
NGINX
mkdir -p "$ngx/tmp"
nginx -p "$ngx" -c "$ngx/nginx.conf" &
nginx_pid=$!
trap 'kill $server $nginx_pid 2>/dev/null || true' EXIT
nginx_url="http://127.0.0.1:$((port + 1))/v1/watchlist"
for _ in $(seq 50); do curl -sf "$nginx_url" > /dev/null && break; sleep 0.1; done
cmp <(curl -sf "$nginx_url") <(curl -sf -H "Authorization: Bearer $inspector" "$url") && echo "nginx serves the identical body"
run() {  # name url [header]
  wrk -t2 -c"$conns" -d"${secs}s" --latency ${3:+-H "$3"} "$2" > "bench-data/serve-$1.txt"
  grep -q 'Non-2xx\|Socket errors' "bench-data/serve-$1.txt" && { echo "ERRORS during the $1 run"; cat "bench-data/serve-$1.txt"; exit 1; }
  printf '%-9s %10s requests/s  p50 %8s  p99 %8s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' "bench-data/serve-$1.txt")" \
    "$(awk '$1 == "50%" {print $2}' "bench-data/serve-$1.txt")" "$(awk '$1 == "99%" {print $2}' "bench-data/serve-$1.txt")"
}
wrk -t2 -c"$conns" -d5s -H "Authorization: Bearer $inspector" "$url" > /dev/null   # warm-up
wrk -t2 -c"$conns" -d5s "$nginx_url" > /dev/null
for round in 1 2; do
  run "wagewatch$round" "$url" "Authorization: Bearer $inspector"
  run "nginx$round" "$nginx_url"
done
python3 - <<'PY'
import re
def rps(name):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"bench-data/serve-{name}.txt").read()).group(1))
w = [rps(f"wagewatch{r}") for r in (1, 2)]; n = [rps(f"nginx{r}") for r in (1, 2)]
print(f"wagewatch / nginx: {sum(w)/sum(n):.2f} (rounds: {w[0]/n[0]:.2f}, {w[1]/n[1]:.2f})")
PY
$bin audit --state "$state" --route /v1/watchlist --limit 1000000 > bench-data/serve-audit.txt
echo "audit entries for /v1/watchlist: $(wc -l < bench-data/serve-audit.txt) (identical reads within a minute are one entry with a count)"
