#!/usr/bin/env bash
# Installs what is needed, builds imapd and starts it on its embedded default
# configuration: data in ./imapd-data, 127.0.0.1:1143 (STARTTLS) and
# 127.0.0.1:1993 (TLS). Extra arguments go to `imapd serve`.
set -euo pipefail
cd "$(dirname "$0")"

./deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMAPD_TESTS=OFF >/dev/null
cmake --build build/release -j "${JOBS:-$(nproc)}" --target imapd
exec build/release/server/imapd serve "$@"
