#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs the SIP peers the integration
# tests drive (SIPp, baresip, sipsak) when missing, checks formatting and lints, runs every
# test. Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
command -v sipsak >/dev/null 2>&1 || need+=(sipsak)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The independent gRPC client in tests/api.rs (tests/py/api_subscribe.py) needs grpcio and
# grpcio-tools (its stubs are generated from proto/ at test time).
if ! python3 -c "import grpc, grpc_tools" >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pip >/dev/null
  fi
  echo "installing: grpcio grpcio-tools (pip)"
  # Debian's system Python refuses user installs without this flag (PEP 668).
  python3 -m pip install -q grpcio grpcio-tools 2>/dev/null ||
    python3 -m pip install -q --break-system-packages grpcio grpcio-tools
fi

cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets "$@"
