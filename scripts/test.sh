#!/usr/bin/env bash
# Install what is missing, build, and run every test: unit (doctest),
# integration (real binaries on loopback) and the demo scenarios. CI runs
# exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --timeout 600
