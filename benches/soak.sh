#!/usr/bin/env bash
# Soak run: mixed API and dashboard load (benches/soak.lua) at 64 connections against the 2,000-employer
# demo province for MINUTES minutes (default 10), a re-score published half-way, and one slowloris client
# that keeps sending half a request header. Samples the server's resident memory and the state database's
# size every 30 s. Needs wrk and python3; data, model and state go to bench-data/ (git-ignored).
# Usage: benches/soak.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
secs=${SOAK_SECONDS:-$((minutes * 60))}
bin=target/release/wagewatch
port=18097
cargo build --release --quiet
export WAGEWATCH_PSEUDONYM_KEY=${WAGEWATCH_PSEUDONYM_KEY:-$(printf '%064x' 7)}
data=bench-data/demo models=bench-data/models state=bench-data/soak-state out=bench-data/soak
mkdir -p bench-data "$out"
[ -f "$data/employers.parquet" ] || $bin generate --out "$data" --employers 2000 --seed 7 > /dev/null
[ -f "$models/bench/model.json" ] || $bin train --data "$data" --as-of 2026-12-01 --models "$models" --id bench > /dev/null
rm -rf "$state"
$bin rescore --state "$state" --data "$data" --models "$models" --model bench --as-of 2026-12-01 2> /dev/null > /dev/null
admin=$($bin token create --state "$state" --role admin --name soak-admin 2> /dev/null)
printf 'data = "%s"\nmodels = "%s"\n[server]\nheader_read_timeout_seconds = 10\n' "$PWD/$data" "$PWD/$models" > "$out/soak.toml"
$bin serve --state "$state" --listen 127.0.0.1:$port --no-schedule --config "$out/soak.toml" 2> "$out/serve.log" &
server=$!
trap 'kill $server $sampler $slow 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
export DISTRICT=320515
export TOKEN=$($bin token create --state "$state" --role inspector --region $DISTRICT --name soak-inspector 2> /dev/null)
supervisor=$($bin token create --state "$state" --role supervisor --region ${DISTRICT:0:4} --name soak-supervisor 2> /dev/null)
export COOKIE=$(curl -s -o /dev/null -D - -H "Origin: http://127.0.0.1:$port" --data-urlencode "token=$supervisor" \
  "http://127.0.0.1:$port/signin" | sed -n 's/^set-cookie: \([^;]*\);.*/\1/Ip')
export ENTITY=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/watchlist?limit=1&entity_type=employer" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["entity_id"])')
# One slowloris client: half a header, a byte every few seconds, reconnecting when closed.
python3 - "$port" > "$out/slowloris.txt" 2>&1 <<'PY' &
import socket, sys, time
port, closed, start = int(sys.argv[1]), 0, time.time()
while True:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    opened = time.time()
    try:
        while True:
            time.sleep(3)
            s.sendall(b"X")
            s.settimeout(0.01)
            try:
                if s.recv(1024) == b"":
                    break
            except socket.timeout:
                pass
    except OSError:
        pass
    closed += 1
    print(f"{time.time() - start:.0f}s: closed after {time.time() - opened:.1f}s ({closed} in all)", flush=True)
PY
slow=$!
(while true; do
   rss=$(ps -o rss= -p $server); db=$(du -sk "$state" | cut -f1)
   echo "$(date +%s) rss_kib=$rss state_kib=$db"; sleep 30
 done) > "$out/samples.txt" &
sampler=$!
( sleep $((secs / 2)); curl -s -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"as_of":"2026-12-15"}' "http://127.0.0.1:$port/v1/runs" > "$out/rescore.json" ) &
wrk -t2 -c64 -d"${secs}s" --latency -s benches/soak.lua "http://127.0.0.1:$port" | tee "$out/wrk.txt"
curl -sf -H "Authorization: Bearer $admin" "http://127.0.0.1:$port/v1/runs" > "$out/runs.json"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
s = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(f"{out}/samples.txt")]
rss = [int(x["rss_kib"]) for x in s]; db = [int(x["state_kib"]) for x in s]
base = rss[2] if len(rss) > 2 else rss[0]
print(f"rss after the first minute {base/1024:.0f} MiB, max {max(rss)/1024:.0f} MiB, last {rss[-1]/1024:.0f} MiB "
      f"({100*(max(rss[2:] or rss)-base)/base:+.1f}% max over the first minute's)")
print(f"state folder {db[0]/1024:.0f} MiB -> {db[-1]/1024:.0f} MiB")
runs = json.load(open(f"{out}/runs.json"))
print("runs:", [(r["run_id"], r["status"]) for r in runs["runs"]], "current", runs["current_run_id"])
PY
tail -3 "$out/slowloris.txt"
if grep -q 'Non-2xx\|Socket errors' "$out/wrk.txt"; then echo "ERRORS during the soak"; exit 1; fi
