#!/usr/bin/env bash
# Install the Debian 12 packages certgate needs, idempotently.
#
# Usage: scripts/install-deps.sh [build|test|bench]...   (default: build)
#   build  compiler, CMake, libuv, BoringSSL, llhttp, toml++, doctest
#   test   build, plus the outside clients and peers the tests drive
#   bench  build, plus the servers the benchmark compares against
#
# Packages already installed are skipped, so a machine that has them all
# runs no apt-get at all. apt-get needs root: run as root or with sudo.
set -euo pipefail

build_packages=(g++ cmake make pkg-config libuv1-dev android-libboringssl-dev node-llhttp
  libtomlplusplus-dev doctest-dev)
test_packages=(curl openssl android-boringssl python3 python3-prometheus-client libnss3-tools chromium
  clang libclang-rt-14-dev
  haproxy procps systemd)
bench_packages=(nginx haproxy caddy android-boringssl util-linux)

wanted=()
groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(build)
for group in "${groups[@]}"; do
  case "$group" in
    build) wanted+=("${build_packages[@]}") ;;
    test) wanted+=("${build_packages[@]}" "${test_packages[@]}") ;;
    bench) wanted+=("${build_packages[@]}" "${bench_packages[@]}") ;;
    *)
      echo "install-deps: unknown group '$group' (expected build, test or bench)" >&2
      exit 2
      ;;
  esac
done

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

# Deduplicate while keeping the order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
