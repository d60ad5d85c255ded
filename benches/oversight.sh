#!/usr/bin/env bash
# The model-oversight figures of a generated province: the fairness audit at 2026-12-01, the drift of a
# run as of 2026-12-01 against one as of 2025-12-01 (and against the training panel), and the projects'
# calibration at 2026-03-01 (a backtest of that one date).
# Usage: benches/oversight.sh [SEED] [EMPLOYERS]   (defaults 7 and 2000; seed 7 is the demo province)
# Data, models and state go to bench-data/oversight-<seed>/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-7}
n=${2:-2000}
bin=target/release/wagewatch
cargo build --release --quiet
export WAGEWATCH_PSEUDONYM_KEY=${WAGEWATCH_PSEUDONYM_KEY:-$(printf '%064x' 7)}
work=bench-data/oversight-$seed
data=$work/data
[ -d "$data" ] || $bin generate --out "$data" --employers "$n" --seed "$seed" > /dev/null
rm -rf "$work/models" "$work/state" "$work/backtest"
$bin train --data "$data" --as-of 2026-12-01 --models "$work/models" --id m1201 --state "$work/state" > /dev/null

echo "== fairness audit, as of 2026-12-01 (flags) =="
$bin report fairness --data "$data" --model m1201 --models "$work/models" --as-of 2026-12-01 \
  --json "$work/fairness.json" | sed -n '/flag(s)/,$p'

echo "== drift: the run of 2026-12-01 against the run of 2025-12-01 and against the training panel =="
printf 'data = "%s"\nmodels = "%s"\nmodel = "m1201"\n[schedule]\nenabled = false\n' "$data" "$work/models" > "$work/wagewatch.toml"
for t in 2025-12-01 2026-12-01; do
  $bin rescore --as-of "$t" --state "$work/state" --config "$work/wagewatch.toml" > /dev/null
done
python3 - "$work/state/wagewatch.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
run = db.execute("SELECT run_id FROM runs WHERE as_of = '2026-12-01' ORDER BY created_at DESC LIMIT 1").fetchone()[0]
for against in ("previous", "training"):
    print(f"against the {against} {'run (2025-12-01)' if against == 'previous' else 'panel'}:")
    for t, subject, psi in db.execute(
        "SELECT entity_type, subject, psi FROM run_drift WHERE run_id = ? AND against = ? AND psi IS NOT NULL "
        "AND subject = 'score' ORDER BY entity_type", (run, against)):
        print(f"  score ({t}) PSI {psi:.3f}")
    for t, subject, psi in db.execute(
        "SELECT entity_type, subject, psi FROM run_drift WHERE run_id = ? AND against = ? AND psi IS NOT NULL "
        "AND subject <> 'score' ORDER BY psi DESC LIMIT 5", (run, against)):
        print(f"  {t:<8} {subject:<40} PSI {psi:.3f}")
EOF

echo "== projects' calibration at 2026-03-01 (a backtest of that date) =="
$bin backtest --data "$data" --from 2026-03-01 --to 2026-03-01 --out "$work/backtest" > /dev/null
python3 - "$work/backtest/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for t in ("employer", "project"):
    e = r["entity_types"][t]["pooled"]
    m = e["model"]
    top = m["reliability"][-1]
    print(f"  {t:<8} mean probability {m['mean_probability']:.3f} against observed {e['event_rate']:.3f}; "
          f"top decile {top['mean_probability']:.3f} against {top['observed_rate']:.3f}; "
          f"AP {m['average_precision']:.4f}, Brier {m['brier']:.4f}")
EOF
