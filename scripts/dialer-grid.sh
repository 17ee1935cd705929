#!/usr/bin/env bash
# Run every scenario of the standard dialer grid (config/dialer-scenarios/) and print one table.
# Usage: scripts/dialer-grid.sh [SEEDS] [GLOB]   (defaults: each file's seeds, every file)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/switchboard
seeds=()
[[ -n "${1:-}" ]] && seeds=(--seeds "$1")
glob="${2:-*}"
first=1
for f in config/dialer-scenarios/$glob.toml; do
    if [[ $first == 1 ]]; then
        "$bin" simulate-dialer "$f" "${seeds[@]}"
        first=0
    else
        "$bin" simulate-dialer "$f" "${seeds[@]}" --no-header
    fi
done
