#!/usr/bin/env bash
# Install what is missing, build, and run every test. CI runs exactly this
# (.ci/run). Stages:
#   1. release build: unit (doctest), integration (real binaries on loopback,
#      Chromium included) and the demo scenarios
#   2. AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer build:
#      the same tests again, except the browser test
#   3. libFuzzer targets (clang) run for FUZZ_SECONDS each (default 20) on
#      the seed corpora in tests/fuzz/corpus
# Set CERTGATE_QUICK=1 to run stage 1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test
jobs=$(nproc)

echo "== stage 1: release build and all tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure --timeout 600
if [[ ${CERTGATE_QUICK:-0} == 1 ]]; then
  exit 0
fi

echo "== stage 2: sanitizer build (ASan, UBSan, LSan) and the tests again"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTGATE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 600 -E browser

echo "== stage 3: fuzzing"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCERTGATE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target request_fuzzer policy_fuzzer gateway_config_fuzzer
for target in request policy gateway_config; do
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/"${target%_config}"/* "$corpus"/
  echo "fuzzing $target for ${FUZZ_SECONDS:-20} s"
  if ! build-fuzz/bin/"$target"_fuzzer -max_total_time="${FUZZ_SECONDS:-20}" -max_len=4096 \
    -artifact_prefix=build-fuzz/ "$corpus" >build-fuzz/"$target".log 2>&1; then
    tail -30 build-fuzz/"$target".log
    echo "fuzzer $target found a failure; the input is in build-fuzz/" >&2
    rm -rf "$corpus"
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' build-fuzz/"$target".log || true
  rm -rf "$corpus"
done
echo "all test stages passed"
