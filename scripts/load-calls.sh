#!/usr/bin/env bash
# Call load through the B2BUA: SIPp callers (UAC, UDP) -> release daemon -> trunk -> SIPp
# callee (UAS), all on this machine's loopback. Callers authenticate like phones do (INVITE,
# 407, ACK, INVITE with Proxy-Authorization, MD5): routing from a trunk only reaches local
# extensions, so a user call out through a trunk is the B2BUA path we can load without
# registering anyone. Every call is anchored (four UDP ports on the daemon).
#
# Usage:
#   scripts/load-calls.sh setup RATE CALLS [HOLD_MS]   call setups/s, no RTP (default hold 1000)
#   scripts/load-calls.sh media CALLS [SECONDS]        CALLS concurrent calls streaming PCMU
#                                                      (caller streams, callee echoes), loss
#                                                      from the CDRs, RSS idle vs loaded
#   scripts/load-calls.sh all                          the runs in BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-25070}
UAS_PORT=${UAS_PORT:-25080}
USERS=${USERS:-100}
# Ports below the ephemeral range (32768+): daemon media 10000-29999 (5,000 calls), the
# callee's echo port 9000, the callers' RTP from 30000 up is unused without rtp_stream.
MEDIA_MIN=10000
MEDIA_MAX=29999
UAS_MP=9000
UAC_MP=4000

ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
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

[media]
address = "127.0.0.1"
port_min = $MEDIA_MIN
port_max = $MEDIA_MAX
codecs = ["PCMU"]
rtp_timeout_secs = 60

[calls]
max_calls = 20000
ring_timeout_secs = 30

[[trunks]]
name = "carrier"
address = "127.0.0.1:$UAS_PORT"

[[dialplan.routes]]
pattern = "_X."
trunk = "carrier"
class = "national"

TOML
  for i in $(seq 1 "$USERS"); do
    u=$((100000 + i))
    printf '[[users]]\nextension = "%s"\npassword = "%spass"\n\n' "$u" "$u"
  done
} > "$work/load.toml"

{
  echo "SEQUENTIAL"
  for i in $(seq 1 "$USERS"); do u=$((100000 + i)); echo "$u;${u}pass;switchboard.local;[authentication username=$u password=${u}pass]"; done
} > "$work/users.csv"

# 1 s of PCMU, a varying pattern (not silence); rtp_stream loops it for the whole call.
python3 -c "import sys; sys.stdout.buffer.write(bytes((i * 7) % 251 for i in range(8000)))" > "$work/audio.ulaw"
sed "s#AUDIO_FILE#$work/audio.ulaw#" tests/sipp/load_uac_rtp.xml > "$work/load_uac_rtp.xml"
sed "s#AUDIO_FILE#$work/audio.ulaw#" tests/sipp/load_uas_rtp.xml > "$work/load_uas_rtp.xml"
# The callee echoes (default: every packet crosses the relay twice, but SIPp's echo is one
# thread on one socket and becomes the bottleneck) or streams its own PCMU (each direction
# crosses the relay once; loss is then the relay's alone).
MEDIA_CALLEE=${MEDIA_CALLEE:-echo}

daemon=""
uas=""
start() {
  rm -f "$work"/switchboard.db*
  ./target/release/switchboard run --config "$work/load.toml" 2> "$work/daemon.log" &
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 1 100); do
    sipsak -s "sip:probe@127.0.0.1:$PORT" -H 127.0.0.1 >/dev/null 2>&1 && break
    sleep 0.1
  done
  # The callee: answers every call, echoes every RTP packet back to its sender or streams.
  if [ "$MEDIA_CALLEE" = stream ]; then
    sipp -sf "$work/load_uas_rtp.xml" -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MP" \
      -nostdin -timeout 600s >/dev/null 2>&1 &
  else
    sipp -sf tests/sipp/call_uas.xml -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MP" \
      -rtp_echo -nostdin -timeout 600s >/dev/null 2>&1 &
  fi
  uas=$!
  pids+=("$uas")
  sleep 0.5
}
stop() {
  kill "$uas" 2>/dev/null || true
  wait "$uas" 2>/dev/null || true
  kill "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
}
# Kernel receive-buffer drops per socket (/proc/net/udp "drops"), summed for the daemon's
# media ports, the callee's echo socket and the callers' media socket; and the machine-wide
# UDP send-buffer errors (a relay send that found its own buffer full is dropped uncounted).
udp_drops() {
  python3 - "$MEDIA_MIN" "$MEDIA_MAX" "$UAS_MP" "$UAC_MP" <<'PY'
import sys
lo, hi, uas, uac = map(int, sys.argv[1:])
d = {"daemon": [0, 0], "callee": [0, 0], "callers": [0, 0]}
for line in open("/proc/net/udp").readlines()[1:]:
    f = line.split()
    port = int(f[1].split(":")[1], 16)
    k = "daemon" if lo <= port <= hi else "callee" if port == uas else "callers" if port == uac else None
    if k:
        d[k][0] += 1
        d[k][1] += int(f[-1])
snmp = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
snd = dict(zip(snmp[0][1:], snmp[1][1:]))["SndbufErrors"]
print(" ".join(f"{k} sockets {v[0]} dropped {v[1]};" for k, v in d.items()), f"SndbufErrors {snd}")
PY
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$daemon/status"; }
stat_col() { # file column-name: the cumulative counter on the last line
  local header last n
  header=$(head -1 "$1")
  last=$(tail -1 "$1")
  n=$(echo "$header" | tr ';' '\n' | grep -n "^$2\$" | cut -d: -f1)
  echo "$last" | cut -d';' -f"$n"
}
cdr_summary() {
  sqlite3 "$work/switchboard.db" "SELECT count(*), coalesce(sum(end_cause = 'normal'), 0),
    coalesce(sum(a_to_b_packets), 0), coalesce(sum(a_to_b_lost), 0),
    coalesce(sum(b_to_a_packets), 0), coalesce(sum(b_to_a_lost), 0) FROM cdrs"
}
wait_cdrs() { # expected-count: until every CDR is closed (bounded: 30 s)
  for _ in $(seq 1 300); do
    open=$(sqlite3 "$work/switchboard.db" "SELECT count(*) FROM cdrs WHERE end_unix_ms IS NULL" 2>/dev/null || echo 1)
    [ "$open" = 0 ] && return
    sleep 0.1
  done
}

why_failed() { # phase: CDR end causes other than normal, SIPp's error kinds, daemon warnings
  sqlite3 "$work/switchboard.db" "SELECT '  CDR end cause ' || coalesce(end_cause, 'open') || ' (A ' ||
    coalesce(a_sip_code, '-') || ', B ' || coalesce(b_sip_code, '-') || '): ' || count(*)
    FROM cdrs WHERE end_cause IS NOT 'normal' GROUP BY end_cause, a_sip_code, b_sip_code"
  if [ -s "$work/$1.err" ]; then
    echo "  SIPp errors (first kinds):"
    grep -v '^$' "$work/$1.err" | sed -E 's/[0-9]+/N/g' | cut -c1-100 | sort | uniq -c | sort -rn | head -5
  fi
  if [ -s "$work/daemon.log" ]; then
    echo "  daemon warnings (first kinds):"
    sed -E 's/^[^ ]+ +//; s/[0-9]+/N/g' "$work/daemon.log" | cut -c1-100 | sort | uniq -c | sort -rn | head -5
  fi
}

setup() {
  local rate=$1 calls=$2 hold=${3:-1000}
  start
  local t0 t1
  t0=$(date +%s.%N)
  sipp "127.0.0.1:$PORT" -sf tests/sipp/load_uac.xml -inf "$work/users.csv" -s 5551234 \
    -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp "$UAC_MP" -r "$rate" -m "$calls" -d "$hold" -l 20000 \
    -nostdin -timeout 120s -max_recv_loops 1000 -trace_err -error_file "$work/setup.err" \
    -trace_stat -stf "$work/setup.csv" -fd 1 >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  wait_cdrs
  local ok failed secs
  ok=$(stat_col "$work/setup.csv" 'SuccessfulCall(C)')
  failed=$(stat_col "$work/setup.csv" 'FailedCall(C)')
  secs=$(echo "$t1 - $t0" | bc -l)
  printf 'setup: offered %s/s, calls %s, hold %s ms: successful %s, failed %s, elapsed %.2f s, ' \
    "$rate" "$calls" "$hold" "$ok" "$failed" "$secs"
  # The load phase lasts calls/rate s plus one hold; the rest is SIPp's ramp and tail.
  printf 'calls/s %.0f (successful / (elapsed - hold))\n' \
    "$(echo "$ok / ($secs - $hold / 1000)" | bc -l)"
  # SIPp's per-second rows: how many calls completed in each second (the tail of
  # retransmitted stragglers drags the overall figure down; the median shows the pace).
  python3 - "$work/setup.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1])]
i = rows[0].index("SuccessfulCall(P)")
per_s = sorted(int(r[i]) for r in rows[1:] if len(r) > i and r[i].isdigit() and int(r[i]) > 0)
if per_s:
    print(f"  successful calls per 1 s interval: median {per_s[len(per_s) // 2]}, max {per_s[-1]}, intervals {len(per_s)}")
PY
  printf '  CDRs (count, normal, a>b pkts, a>b lost, b>a pkts, b>a lost): %s\n' "$(cdr_summary)"
  why_failed setup
  stop
}

media() {
  local calls=$1 secs=${2:-30}
  local rate=$(( calls < 200 ? calls : 200 ))
  start
  local idle
  idle=$(rss_kib)
  sipp "127.0.0.1:$PORT" -sf "$work/load_uac_rtp.xml" -inf "$work/users.csv" -s 5551234 \
    -i 127.0.0.1 -p 0 -mi 127.0.0.1 -mp "$UAC_MP" -r "$rate" -m "$calls" -l "$calls" \
    -d "$((secs * 1000))" -nostdin -timeout "$((secs + 120))s" -max_recv_loops 1000 \
    -trace_err -error_file "$work/media.err" \
    -trace_stat -stf "$work/media.csv" -fd 1 >/dev/null 2>&1 &
  local uac=$!
  pids+=("$uac")
  # Sample RSS once every call is up (ramp + 3 s), while all of them stream.
  local ramp=$(( calls / rate + 3 ))
  sleep "$ramp"
  local loaded up
  loaded=$(rss_kib)
  up=$(sqlite3 "$work/switchboard.db" "SELECT count(*) FROM cdrs WHERE answer_unix_ms IS NOT NULL AND end_unix_ms IS NULL" 2>/dev/null || echo "?")
  local cpu t0 t1 c0 c1
  t0=$(date +%s.%N)
  c0=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
  local snd0
  snd0=$(udp_drops)
  # Drops just before the calls end (each daemon socket lives for its whole call).
  sleep $(( secs - ramp - 2 > 1 ? secs - ramp - 2 : 1 ))
  c1=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
  t1=$(date +%s.%N)
  cpu=$(echo "($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0) * 100" | bc -l)
  local drops
  drops=$(udp_drops)
  wait "$uac" || true
  wait_cdrs
  local ok failed
  ok=$(stat_col "$work/media.csv" 'SuccessfulCall(C)')
  failed=$(stat_col "$work/media.csv" 'FailedCall(C)')
  local s n normal ab abl ba bal
  s=$(cdr_summary)
  IFS='|' read -r n normal ab abl ba bal <<<"$s"
  printf 'media (callee %s): %s calls x %s s PCMU: successful %s, failed %s; %s up when sampled\n' \
    "$MEDIA_CALLEE" "$calls" "$secs" "$ok" "$failed" "$up"
  printf '  CDRs: %s (normal %s); caller->relay: %s received, %s lost (%.3f %%); ' \
    "$n" "$normal" "$ab" "$abl" "$(echo "100 * $abl / ($ab + $abl + 0.0001)" | bc -l)"
  printf 'callee->relay: %s, %s lost (%.3f %%)\n' \
    "$ba" "$bal" "$(echo "100 * $bal / ($ba + $bal + 0.0001)" | bc -l)"
  # Every echoed packet crossed the relay twice: A->B, then B->A.
  [ "$MEDIA_CALLEE" = echo ] && printf '  round trip through the relay: %.3f %% of what the relay got from callers did not come back\n' \
    "$(echo "100 * ($ab - $ba) / ($ab + 0.0001)" | bc -l)"
  printf '  UDP receive drops, at the RSS sample: %s\n' "$snd0"
  printf '  UDP receive drops, just before the calls end: %s\n' "$drops"
  printf '  RSS idle %s KiB, with %s calls %s KiB: %.1f KiB per call; daemon CPU with all calls up %.0f %% (of one core)\n' \
    "$idle" "$up" "$loaded" "$(echo "($loaded - $idle) / ($up + 0.0001)" | bc -l)" "$cpu"
  why_failed media
  stop
}

case "${1:-all}" in
  setup) shift; setup "$@" ;;
  media) shift; media "$@" ;;
  all)
    for r in 500 1000 2000 3000; do setup "$r" $((r * 10)); done
    for n in 500 1000 2000 3000; do media "$n" 30; done
    ;;
  *) echo "usage: $0 setup RATE CALLS [HOLD_MS] | media CALLS [SECONDS] | all" >&2; exit 2 ;;
esac
