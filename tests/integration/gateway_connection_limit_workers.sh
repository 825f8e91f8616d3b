#!/usr/bin/env bash
# gateway_connection_limit.sh with [server] workers = 2, where both workers
# share one max_connections count and wake each other when a slot frees.
CERTGATE_TEST_WORKERS=2 exec bash "$(dirname "${BASH_SOURCE[0]}")/gateway_connection_limit.sh"
