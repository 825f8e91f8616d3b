#!/usr/bin/env bash
# The generated systemd unit passes systemd-analyze verify (every directive
# known and valid), with its binary paths pointed at the built certgate.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

unit=${CERTGATE_BUILD_DIR:-$ROOT/build}/certgate.service
if [[ ! -f $unit ]]; then
  fail "generated unit $unit not found (made by cmake from conf/certgate.service.in)"
  finish
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (apt-get install systemd)"
  exit 0
fi
mkdir -p "$WORK/unit"
sed -e "s#/[^ ]*/bin/certgate#$CERTGATE_BIN#g" "$unit" >"$WORK/unit/certgate.service"
# verify complains about the missing user and config at run time only, not
# about syntax; keep the syntax and directive errors.
output=$(systemd-analyze verify "$WORK/unit/certgate.service" 2>&1 |
  grep -v -e "certgate.service: Command .* is not executable" || true)
if grep -qiE "unknown|invalid|failed to parse|bad" <<<"$output"; then
  fail "systemd-analyze verify reported: $output"
else
  pass "systemd unit verifies"
fi
for directive in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes User=certgate \
  'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qF -- "$directive" "$unit" && pass "unit sets $directive" ||
    fail "unit lacks $directive"
done
finish
