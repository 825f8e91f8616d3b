#!/usr/bin/env bash
echo "scenarios: not written yet" >&2
exit 1
