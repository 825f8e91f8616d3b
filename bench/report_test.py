#!/usr/bin/env python3
"""Tests for the target verdicts in bench/report.py, on a made-up results folder."""

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402  (the path above makes it importable)


def write_run(folder, server, mode, succeeded, cpu_ticks, saturated=False, idle_held=None):
    """Write the generator's JSON line for one run and its server CPU ticks (100 per second)."""
    result = {
        "ops_per_s": succeeded / 10,
        "succeeded": succeeded,
        "failed": 0,
        "elapsed_s": 10.0,
        "latency_ms": {"p50": 1.0, "p99": 2.0},
        "cpu": {"percent": 99.0 if saturated else 50.0, "saturated": saturated},
    }
    if idle_held is not None:
        result["idle_held"] = idle_held
    (folder / "results").mkdir(exist_ok=True)
    (folder / "results" / f"{server}-{mode}.json").write_text(json.dumps(result) + "\n")
    with open(folder / "runs.tsv", "a") as runs:
        runs.write(f"{server}\t{mode}\t{cpu_ticks}\t0\n")


class TargetsTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.folder = Path(self.temp.name)
        (self.folder / "meta.tsv").write_text("clk_tck\t100\nidle\t1000\n")
        (self.folder / "memory.tsv").write_text(
            "certgate\t10000\t16000\nnginx\t20000\t40000\n")  # KiB before, while held
        for server in ("certgate", "nginx"):
            write_run(self.folder, server, "idle", 0, 0, idle_held=1000)

    def tearDown(self):
        self.temp.cleanup()

    def lines(self, modes, servers):
        results = report.Results(self.folder, servers, modes)
        return report.section_targets(results)

    def test_met_and_missed_targets(self):
        # certgate: 25,000 handshakes in 10 CPU s; nginx 10,000 in 10 s: 2.5x (met).
        write_run(self.folder, "certgate", "handshake", 25000, 1000, saturated=True)
        write_run(self.folder, "nginx", "handshake", 10000, 1000)
        write_run(self.folder, "caddy", "handshake", 20000, 1000)  # 1.25x: missed
        lines = self.lines(["handshake"], ["certgate", "nginx", "caddy"])
        text = "\n".join(lines)
        self.assertIn("| handshake | 2,500/s | nginx 1,000/s | 2.50 | 2.5x | yes |", text)
        self.assertIn("| handshake | 2,500/s | caddy 2,000/s | 1.25 | 1.3x | no |", text)
        self.assertIn("saturated in certgate handshake", text)

    def test_memory_target(self):
        lines = self.lines([], ["certgate", "nginx"])
        # certgate: 6,000 KiB over 1,000 connections; nginx: 20,000 KiB.
        self.assertIn("| KiB per idle mTLS connection | 6.0 | nginx 20.0 | 0.30 | "
                      "at most 10 and half of nginx | yes |", lines)

    def test_two_workers_on_one_core(self):
        with open(self.folder / "meta.tsv", "a") as meta:
            meta.write("workers_2_cores\t0\n")
        write_run(self.folder, "certgate", "keepalive", 400000, 1000)
        write_run(self.folder, "certgate-2w", "keepalive", 420000, 1000)
        text = "\n".join(self.lines(["keepalive"], ["certgate", "certgate-2w"]))
        self.assertIn("(certgate-2w ÷ certgate): keepalive 1.05.", text)
        self.assertIn("not how throughput scales with cores", text)

    def test_streaming_table(self):
        with open(self.folder / "meta.tsv", "a") as meta:
            meta.write("stream_mib\t64\n")
        (self.folder / "stream.md").write_text(
            "| direction | size | a | b | ms | SHA-256 equal |\n| --- | --- | --- | --- | --- | --- |\n"
            "| download | 64 MiB | 1 KiB | 2 KiB | 10 | yes |\n"
            "| upload | 64 MiB | 1 KiB | 2 KiB | 10 | yes |\n")
        lines = report.section_streaming(report.Results(self.folder, ["certgate"], []))
        self.assertIn("`bench/stream_memory.sh 64`", lines[2])
        self.assertIn("| upload | 64 MiB | 1 KiB | 2 KiB | 10 | yes |", lines)

    def test_missing_peer_is_left_out(self):
        write_run(self.folder, "certgate", "keepalive", 500000, 1000)
        lines = self.lines(["keepalive"], ["certgate", "nginx"])
        self.assertFalse(any(line.startswith("| keepalive") for line in lines))


if __name__ == "__main__":
    unittest.main()
