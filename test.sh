#!/usr/bin/env bash
# Installs what is needed, builds and runs every test. CI runs exactly this
# (.ci/run). Three builds:
#   build/ci-gcc   g++, warnings as errors, optimised: unit tests
#   build/ci-asan  clang++, warnings as errors, AddressSanitizer +
#                  UndefinedBehaviorSanitizer, libFuzzer targets: unit tests
#                  and a short run of every fuzz target
#   build/ci-tsan  clang++, warnings as errors, ThreadSanitizer: every test
#                  (unit, e2e, concurrent checker at threads=1 and 4) with
#                  the server's threads racing for real; any report fails
# Environment: IMAPD_FUZZ_SECONDS (default 20) per fuzz target;
#              JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")"

./deps.sh

jobs=${JOBS:-$(nproc)}
fuzz_seconds=${IMAPD_FUZZ_SECONDS:-20}

echo "== npm ci: imapflow for tests/e2e/test_imapflow.py (pinned in package-lock.json)"
(cd tests/e2e/imapflow && npm ci --no-audit --no-fund --loglevel=error)
echo "== npm ci: node-imap for tests/e2e/test_clients.py NodeImap (pinned in package-lock.json)"
(cd tests/e2e/node-imap && npm ci --no-audit --no-fund --loglevel=error)

echo "== format check (.clang-format)"
mapfile -t sources < <(git ls-files -- '*.cpp' '*.h' 2>/dev/null || find protocol store server tests -name '*.cpp' -o -name '*.h')
clang-format --dry-run --Werror "${sources[@]}"

echo "== build/ci-gcc: g++ -Werror"
cmake -S . -B build/ci-gcc -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=g++ -DIMAPD_WERROR=ON >/dev/null
cmake --build build/ci-gcc -j "$jobs"
ctest --test-dir build/ci-gcc --output-on-failure -j "$jobs"

echo "== build/ci-asan: clang++ -Werror, ASan+UBSan, fuzzers (${fuzz_seconds}s each)"
cmake -S . -B build/ci-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER=clang++ -DIMAPD_WERROR=ON -DIMAPD_SANITIZE=ON -DIMAPD_FUZZ=ON \
  -DIMAPD_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build build/ci-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/ci-asan --output-on-failure -j "$jobs"

echo "== build/ci-tsan: clang++ -Werror, ThreadSanitizer"
cmake -S . -B build/ci-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DIMAPD_WERROR=ON -DIMAPD_TSAN=ON >/dev/null
cmake --build build/ci-tsan -j "$jobs"
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build/ci-tsan --output-on-failure -j "$jobs"
