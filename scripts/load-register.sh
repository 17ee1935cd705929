#!/usr/bin/env bash
# REGISTER load with digest auth: SIPp (UAC, UDP) against a release build of the daemon, both
# on this machine's loopback. Each SIPp call is one REGISTER challenged with 401 and one
# authenticated REGISTER answered 200 after its binding is committed to SQLite.
#
# Usage: scripts/load-register.sh [RATE calls/s] [CALLS] [USERS]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-5000}
CALLS=${2:-100000}
USERS=${3:-1000}
PORT=${PORT:-25060}

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cargo build --release --quiet

{
  cat <<TOML
[sip]
domain = "switchboard.local"
listen = [{ transport = "udp", addr = "127.0.0.1:$PORT" }]

[store]
path = "$work/switchboard.db"

[log]
level = "warn"

[auth]
# SIPp 3.6 implements MD5 only and reads the first challenge.
algorithms = ["MD5", "SHA-256"]

[security]
trusted = ["127.0.0.0/8"]

TOML
  for i in $(seq 1 "$USERS"); do
    u=$((100000 + i))
    printf '[[users]]\nextension = "%s"\ndisplay_name = "Load %s"\npassword = "%spass"\n\n' "$u" "$u" "$u"
  done
} > "$work/load.toml"

{
  echo "SEQUENTIAL"
  for i in $(seq 1 "$USERS"); do u=$((100000 + i)); echo "$u;${u}pass;switchboard.local;[authentication username=$u password=${u}pass]"; done
} > "$work/users.csv"

./target/release/switchboard run --config "$work/load.toml" &
pid=$!
for _ in $(seq 1 100); do
  sipsak -s "sip:probe@127.0.0.1:$PORT" -H 127.0.0.1 >/dev/null 2>&1 && break
  sleep 0.1
done

start=$(date +%s.%N)
sipp "127.0.0.1:$PORT" -sf tests/sipp/register_keep.xml -inf "$work/users.csv" \
  -i 127.0.0.1 -p 0 -r "$RATE" -m "$CALLS" -l 20000 -nostdin -timeout 300s \
  -trace_stat -stf "$work/stat.csv" -fd 1 >/dev/null 2>&1 || true
end=$(date +%s.%N)

# The last line of SIPp's statistics file holds the cumulative counters.
header=$(head -1 "$work/stat.csv")
last=$(tail -1 "$work/stat.csv")
col() { echo "$header" | tr ';' '\n' | grep -n "^$1\$" | cut -d: -f1; }
ok=$(echo "$last" | cut -d';' -f"$(col SuccessfulCall\(C\))")
failed=$(echo "$last" | cut -d';' -f"$(col FailedCall\(C\))")
secs=$(echo "$end - $start" | bc -l)
printf 'rate asked: %s/s, calls: %s, users: %s\n' "$RATE" "$CALLS" "$USERS"
printf 'successful registrations: %s, failed: %s, elapsed: %.2f s, registrations/s: %.0f\n' \
  "$ok" "$failed" "$secs" "$(echo "$ok / $secs" | bc -l)"
