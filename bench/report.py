#!/usr/bin/env python3
"""Write bench/RESULTS.md (to stdout) from the files bench/run collected.

Usage: report.py WORKDIR "SERVERS" "MODES" ["SCALE_MODES"]
"""

import datetime
import json
import re
import sys
from pathlib import Path

SCALE_SERVER = "certgate-scale"

MODE_TITLES = {
    "handshake": "Full TLS 1.3 mTLS handshakes (connect, handshake, close)",
    "resume": "Resumed TLS 1.3 handshakes (session ticket from a first full handshake)",
    "request": "One request per connection (handshake, GET /secret, Connection: close)",
    "keepalive": "Keep-alive requests (GET /secret back to back on open connections)",
}


def read_tsv(path):
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text().splitlines() if line]


def read_json_line(path):
    """Return the generator's JSON report, or None when the run left none."""
    if not path.exists():
        return None
    for line in reversed(path.read_text().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(ours, theirs):
    if ours is None or theirs in (None, 0):
        return "n/a"
    return f"{ours / theirs:.2f}"


def failure_summary(report):
    parts = []
    for kind, entry in report["failures"].items():
        for detail, count in entry["detail"].items():
            parts.append(f"{kind}: {count} x {detail}")
    return "; ".join(parts)


class Results:
    def __init__(self, workdir, servers, modes):
        self.dir = Path(workdir)
        self.servers = servers
        self.modes = modes
        self.meta = dict(row[:2] for row in read_tsv(self.dir / "meta.tsv") if len(row) >= 2)
        self.tick = float(self.meta.get("clk_tck", "100"))
        self.runs = {}
        for row in read_tsv(self.dir / "runs.tsv"):
            server, mode, server_ticks, upstream_ticks = (row + ["", "", "", ""])[:4]
            self.runs[(server, mode)] = (self.seconds(server_ticks), self.seconds(upstream_ticks))
        self.memory = {row[0]: row[1:] for row in read_tsv(self.dir / "memory.tsv")}
        self.policy = {row[0]: row[1:] for row in read_tsv(self.dir / "policy.tsv")}
        self.reloads = read_tsv(self.dir / "reloads.tsv")

    def failed_servers(self):
        return {server for server in self.servers if start_failure(self, server) is not None}

    def seconds(self, ticks):
        return int(ticks) / self.tick if ticks else None

    def report(self, server, mode):
        return read_json_line(self.dir / "results" / f"{server}-{mode}.json")

    def row(self, server, mode):
        """Return ops/s, server CPU s, ops per server CPU s, the report and upstream CPU s."""
        report = self.report(server, mode)
        server_cpu, upstream_cpu = self.runs.get((server, mode), (None, None))
        if report is None:
            return None, server_cpu, None, None, upstream_cpu
        per_cpu = report["succeeded"] / server_cpu if server_cpu else None
        return report["ops_per_s"], server_cpu, per_cpu, report, upstream_cpu


def section_machine(results):
    meta = results.meta
    lines = ["## Machine and software", "", "| item | value |", "| --- | --- |"]
    items = [
        ("CPU", f"{meta.get('cpu', '?')}, {meta.get('nproc', '?')} cores"),
        ("memory", meta.get("memory", "?")),
        ("kernel", meta.get("kernel", "?")),
        ("OS", meta.get("os", "?")),
        ("load average before / after", f"{meta.get('load_before', '?')} / {meta.get('load_after', '?')}"),
        ("certgate commit", meta.get("commit", "?")),
        ("BoringSSL (certgate, generator)", meta.get("boringssl", "?")),
        ("OpenSSL (nginx, HAProxy)", meta.get("openssl", "?")),
        ("Go (Caddy)", meta.get("go", "?")),
        ("certificates", f"{meta.get('pki', '?')}, key {meta.get('key_type', '?')}"),
        ("upstream", meta.get("upstream", "?")),
    ]
    for server in results.servers:
        items.append((server, meta.get(f"version_{server}", "not measured")))
    lines += [f"| {name} | {value} |" for name, value in items]
    return lines


def section_method(results):
    meta = results.meta
    return [
        "## How it was run",
        "",
        "```sh",
        meta.get("command", "bench/run"),
        "```",
        "",
        f"Each load run lasts {meta.get('duration', '?')} s with "
        f"{meta.get('concurrency', '?')} connections in flight. The server under test is "
        "pinned to core 0 with one worker (nginx `worker_processes 1`, HAProxy `nbthread 1`, "
        "Caddy `GOMAXPROCS=1`; certgate `workers = 1`, whose main thread only handles "
        "signals and reloads). certgate-2w runs `workers = 2` on CPU "
        f"{meta.get('workers_2_cores', '0')}. The load generator "
        f"(`certgate-bench`, {meta.get('threads', '1')} thread(s)) and the upstream share "
        f"CPU {meta.get('client_cores', '1')}, so the server's core runs nothing "
        "else from the benchmark. *server core %* is the server's CPU time over the run's "
        "wall-clock time. Server CPU time is the utime+stime delta from "
        "`/proc/PID/stat` over the run, summed over the server process and its children "
        "(the nginx worker). *ops per server CPU s* divides successful operations by that "
        "time, which stays comparable when the generator, not the server, limits ops/s.",
        "",
        "Every server requires a client certificate from the bench CA, allows only "
        "CN `good-client` on `/secret` and proxies to the same upstream with the CN in "
        "`X-Client-CN`. certgate also sends its other identity headers (subject, issuer, "
        "serial, fingerprint), which the peers do not.",
    ]


def section_policy(results):
    lines = [
        "## Access check before measuring",
        "",
        "| server | CN good-client | CN second-client | no certificate |",
        "| --- | --- | --- | --- |",
    ]
    for server in results.servers:
        good, second, none = (results.policy.get(server, []) + ["n/a"] * 3)[:3]
        lines.append(f"| {server} | {good} | {second} | {none} |")
    lines += ["", "Expected: 200, 403, and no certificate rejected in the TLS handshake. "
              "nginx with `ssl_verify_client on` completes the handshake without a "
              "certificate and returns 400 instead."]
    return lines


def section_mode(results, mode):
    resumed_column = mode == "resume"
    header = "| server | ops/s | failed | p50 ms | p99 ms | server CPU s | server core % "
    header += "| ops per server CPU s "
    header += "| certgate ÷ server, ops/s | certgate ÷ server, per CPU s "
    header += "| resumed " if resumed_column else ""
    header += "| generator CPU % | upstream CPU s |"
    columns = header.count("|") - 1
    lines = [f"### {mode}: {MODE_TITLES.get(mode, mode)}", "", header, "|" + " --- |" * columns]
    ours_ops, _, ours_per_cpu, _, _ = results.row("certgate", mode)
    for server in results.servers:
        ops, cpu, per_cpu, report, upstream_cpu = results.row(server, mode)
        if report is None:
            lines.append(f"| {server} | no result |" + " |" * (columns - 2))
            continue
        cells = [
            server,
            fmt(ops),
            fmt(report["failed"]),
            fmt(report["latency_ms"]["p50"], 2),
            fmt(report["latency_ms"]["p99"], 2),
            fmt(cpu, 2),
            fmt(100 * cpu / report["elapsed_s"] if cpu and report["elapsed_s"] else None),
            fmt(per_cpu),
            ratio(ours_ops, ops),
            ratio(ours_per_cpu, per_cpu),
        ]
        if resumed_column:
            succeeded = report["succeeded"]
            cells.append(f"{100 * report['resumed'] / succeeded:.0f}%" if succeeded else "n/a")
        saturated = " (saturated)" if report["cpu"]["saturated"] else ""
        cells += [fmt(report["cpu"]["percent"]) + saturated, fmt(upstream_cpu, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def memory_per_connection(results):
    """Return KiB of RSS per idle connection for each server that has a result."""
    per_connection = {}
    for server in results.servers:
        before, during = (results.memory.get(server, []) + ["", ""])[:2]
        report = results.report(server, "idle")
        held = report.get("idle_held") if report else None
        if before and during and held:
            per_connection[server] = (int(during) - int(before)) / held
    return per_connection


# The project's targets, per second of server CPU: (mode, peer, minimum
# ratio of certgate's rate to the peer's).
THROUGHPUT_TARGETS = [
    ("handshake", "nginx", 2.5),
    ("handshake", "caddy", 1.3),
    ("resume", "caddy", 2.0),
    ("keepalive", "haproxy", 1.2),
]
MEMORY_TARGET_KIB = 10.0  # at most, and at most half of nginx's


def workers_lines(results):
    """Return a paragraph comparing certgate with one and with two workers."""
    if "certgate-2w" not in results.servers:
        return []
    cores = results.meta.get("workers_2_cores", "0")
    parts = []
    for mode in results.modes:
        _, _, one, _, _ = results.row("certgate", mode)
        _, _, two, _, _ = results.row("certgate-2w", mode)
        if one and two:
            parts.append(f"{mode} {two / one:.2f}")
    if not parts:
        return []
    shared = "," not in cores and "-" not in cores
    where = (f"Both workers of certgate-2w ran on CPU {cores}, the server's one core, because "
             "the generator needs the other core here; so this compares two event loops "
             "sharing one core with one loop, and shows what a second worker costs, not how "
             "throughput scales with cores." if shared else
             f"certgate-2w ran its two workers on CPUs {cores}.")
    return ["", "Two workers against one, ops per server CPU s (certgate-2w ÷ certgate): "
            + ", ".join(parts) + ". " + where]


def section_targets(results):
    lines = ["## Against the targets (this run, per second of server CPU)", "",
             "| measure | certgate | peer | certgate ÷ peer | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    saturated = []
    for mode, peer, target in THROUGHPUT_TARGETS:
        if mode not in results.modes or peer not in results.servers:
            continue
        _, _, ours, our_report, _ = results.row("certgate", mode)
        _, _, theirs, their_report, _ = results.row(peer, mode)
        value = ours / theirs if ours and theirs else None
        if value is None:
            met = "n/a"
        else:
            met = "yes" if value >= target else "no"
        lines.append(f"| {mode} | {fmt(ours)}/s | {peer} {fmt(theirs)}/s | "
                     f"{ratio(ours, theirs)} | {target}x | {met} |")
        for server, report in (("certgate", our_report), (peer, their_report)):
            if report and report["cpu"]["saturated"] and f"{server} {mode}" not in saturated:
                saturated.append(f"{server} {mode}")
    per_connection = memory_per_connection(results)
    ours = per_connection.get("certgate")
    nginx = per_connection.get("nginx")
    if ours is not None:
        met = ours <= MEMORY_TARGET_KIB and (nginx is None or ours <= nginx / 2)
        lines.append(f"| KiB per idle mTLS connection | {ours:.1f} | nginx {fmt(nginx, 1)} | "
                     f"{ratio(ours, nginx)} | at most {MEMORY_TARGET_KIB:.0f} and half of nginx | "
                     f"{'yes' if met else 'no'} |")
    lines += workers_lines(results)
    if saturated:
        lines += ["", "The generator was saturated in " + ", ".join(saturated) + ", so those "
                  "servers' ops/s are lower bounds; the ratios per server CPU second above "
                  "still compare the work each server did (see the load generator section)."]
    return lines


def section_memory(results):
    idle = results.meta.get("idle", "?")
    lines = [
        "## Memory per idle mTLS connection",
        "",
        f"RSS (`VmRSS`, nginx master plus worker) before and while {idle} connections with "
        "finished handshakes are held idle; the difference divided by the connections "
        "held.",
        "",
        "| server | held | RSS before MiB | RSS held MiB | KiB per connection | certgate ÷ server |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    per_connection = memory_per_connection(results)
    for server in results.servers:
        before, during = (results.memory.get(server, []) + ["", ""])[:2]
        report = results.report(server, "idle")
        if not (before and during and report):
            lines.append(f"| {server} | no result | | | | |")
            continue
        value = per_connection.get(server)
        lines.append(
            f"| {server} | {report.get('idle_held', 0)} | {int(before) / 1024:.1f} | "
            f"{int(during) / 1024:.1f} | {fmt(value, 1)} | "
            f"{ratio(per_connection.get('certgate'), value)} |"
        )
    return lines


def bssl_rates(path):
    """Return operations per CPU second from `bssl-tool speed -json` output.

    bssl-tool divides by wall-clock time. The run's `time` line (user, system,
    real seconds) gives the share of a core it got, and the rates are divided
    by that share, which assumes the share was the same for every test.
    """
    rates = {}
    if not path.exists() or not path.read_text().strip():
        return rates
    share = 1.0
    timing = path.with_suffix(".time")
    if timing.exists():
        user, system, real = (float(x) for x in timing.read_text().split()[-3:])
        share = min(1.0, (user + system) / real) if real > 0 else 1.0
    for entry in json.loads(path.read_text()):
        seconds = entry["microseconds"] / 1e6 * share
        rates[entry["description"]] = entry["numCalls"] / seconds
    return rates


def openssl_rates(path):
    """Parse `openssl speed ecdsap256 ecdhx25519` text into per-second rates."""
    rates = {}
    if not path.exists():
        return rates
    text = path.read_text()
    ecdsa = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", text)
    ecdh = re.search(r"253 bits ecdh \(X25519\)\s+\S+s\s+([\d.]+)", text)
    if ecdsa:
        rates["sign"], rates["verify"] = float(ecdsa.group(1)), float(ecdsa.group(2))
    if ecdh:
        rates["derive"] = float(ecdh.group(1))
    return rates


def section_crypto(results):
    lines = [
        "## Crypto ceiling",
        "",
        "A full mTLS handshake costs the server at least 1 ECDSA P-256 signature "
        "(CertificateVerify), 2 ECDSA P-256 verifications (the client's CertificateVerify "
        "and its certificate's signature by the CA), 1 X25519 key generation and 1 X25519 "
        "shared secret. Rates are operations per CPU second on core 0. For BoringSSL "
        "they are an estimate: bssl-tool measures wall-clock time, and its rates are "
        "divided by the share of the core it got on this shared machine.",
        "",
        "| library | sign/s | verify/s | X25519 keygen/s | X25519 shared/s | µs per handshake | handshakes/s per core |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    bssl = bssl_rates(results.dir / "crypto-bssl-ecdsa.json")
    bssl.update(bssl_rates(results.dir / "crypto-bssl-x25519.json"))
    keys = ("ECDSA P-256 signing", "ECDSA P-256 verify", "Curve25519 base-point multiplication",
            "Curve25519 arbitrary point multiplication")
    if all(key in bssl for key in keys):
        sign, verify, keygen, shared = (bssl[key] for key in keys)
        cost = 1 / sign + 2 / verify + 1 / keygen + 1 / shared
        lines.append(f"| BoringSSL (bssl-tool speed) | {fmt(sign)} | {fmt(verify)} | {fmt(keygen)} | "
                     f"{fmt(shared)} | {cost * 1e6:.0f} | {fmt(1 / cost)} |")
        ceiling = 1 / cost
    else:
        lines.append("| BoringSSL (bssl-tool speed) | no result | | | | | |")
        ceiling = None
    ossl = openssl_rates(results.dir / "crypto-openssl.txt")
    if {"sign", "verify", "derive"} <= ossl.keys():
        cost = 1 / ossl["sign"] + 2 / ossl["verify"] + 2 / ossl["derive"]
        lines.append(f"| OpenSSL (openssl speed) | {fmt(ossl['sign'])} | {fmt(ossl['verify'])} | "
                     f"≈ {fmt(ossl['derive'])} | {fmt(ossl['derive'])} | {cost * 1e6:.0f} | "
                     f"{fmt(1 / cost)} |")
    lines += ["", "`openssl speed` measures only the X25519 shared secret; the key generation is "
              "estimated at the same cost."]
    _, _, per_cpu, _, _ = results.row("certgate", "handshake")
    if ceiling and per_cpu:
        lines += ["", f"certgate completed {per_cpu:,.0f} full handshakes per CPU second, "
                  f"{100 * per_cpu / ceiling:.0f}% of the BoringSSL ceiling. The ceiling counts "
                  "two verifications, but certgate's cache of verified chains skips the CA "
                  "signature check for a client chain it has verified before (the bench "
                  "client presents the same certificate every time), so it can pass the "
                  "ceiling. The rest of its CPU time goes to TCP, the TLS state machine and "
                  "the HTTP exchange."]
    return lines


def check_config_times(text):
    """Return (wall, cpu) seconds of the fastest run in "wall user sys;..." text."""
    runs = []
    for run in filter(None, text.split(";")):
        wall, user, system = (float(x) for x in run.split())
        runs.append((wall, user + system))
    return min(runs) if runs else (None, None)


def scale_load_lines(results):
    meta = results.meta
    lines = ["| policy | check-config wall s | check-config CPU s |", "| --- | --- | --- |"]
    for name, key in (("normal (1 CN)", "check_config_normal"),
                      (f"{int(meta['scale_identities']):,} identities", "check_config_scale")):
        wall, cpu = check_config_times(meta.get(key, ""))
        lines.append(f"| {name} | {fmt(wall, 3)} | {fmt(cpu, 3)} |")
    startup = meta.get("scale_startup_ms")
    lines += ["", "`certgate check-config` loads the configuration, the policy and the TLS files "
              "as `serve` does; the fastest of three runs pinned to core 0 is shown. "
              f"`certgate serve` with the large policy printed its listening line "
              f"{startup or 'n/a'} ms after it was started."]
    return lines


def scale_mode_lines(results, scale_modes):
    lines = ["| mode | ops/s normal | ops/s large | large ÷ normal | ops per server CPU s normal "
             "| ops per server CPU s large | large ÷ normal, per CPU s | failed large "
             "| generator CPU % large |", "|" + " --- |" * 9]
    for mode in scale_modes:
        ops, _, per_cpu, _, _ = results.row("certgate", mode)
        big_ops, _, big_per_cpu, report, _ = results.row(SCALE_SERVER, mode)
        if report is None:
            lines.append(f"| {mode} | {fmt(ops)} | no result |" + " |" * 6)
            continue
        saturated = " (saturated)" if report["cpu"]["saturated"] else ""
        lines.append(f"| {mode} | {fmt(ops)} | {fmt(big_ops)} | {ratio(big_ops, ops)} | "
                     f"{fmt(per_cpu)} | {fmt(big_per_cpu)} | {ratio(big_per_cpu, per_cpu)} | "
                     f"{fmt(report['failed'])} | {fmt(report['cpu']['percent'])}{saturated} |")
    return lines


def counter_delta(meta, name):
    before, after = meta.get(f"{name}_before"), meta.get(f"{name}_after")
    if before is None or after is None:
        return None
    return float(after) - float(before)


def scale_reload_lines(results):
    meta = results.meta
    lines = [f"Two reloads during {meta.get('reload_duration', '?')} s of traffic from two "
             "generators at once, keep-alive requests and one request per connection, "
             "each with half the connections: `kill -HUP` after a third of the time, and a "
             "new policy file (other fingerprints, the client at another index) renamed over "
             "the watched one (`[policy] watch`) after two thirds. *seen after* runs from the "
             "signal or the rename until `/metrics` shows the new `certgate_config_version`, "
             "polled every 20 ms, and includes the watch's 200 ms debounce; *gateway reports* "
             "is `certgate_reload_duration_seconds`, reading the files to the swap.",
             "", "| reload | seen after ms | gateway reports ms | new version seen |",
             "| --- | --- | --- | --- |"]
    for cause, seen_ms, server_s, reached in ((row + [""] * 4)[:4] for row in results.reloads):
        server_ms = float(server_s) * 1000 if server_s else None
        lines.append(f"| {cause} | {seen_ms} | {fmt(server_ms, 1)} | "
                     f"{'yes' if reached == '1' else 'no'} |")
    if not results.reloads:
        lines.append("| no result | | | |")
    successes = counter_delta(meta, "reload_successes")
    failures = counter_delta(meta, "reload_failures")
    lines += ["", f"`certgate_reloads_total` went up by {fmt(successes)} successes and "
              f"{fmt(failures)} failures.", "",
              "| traffic | succeeded | failed | p50 ms | p99 ms | max ms |",
              "| --- | --- | --- | --- | --- | --- |"]
    for mode in ("keepalive", "request"):
        report = results.report(SCALE_SERVER, f"reload-{mode}")
        if report is None:
            lines.append(f"| {mode} | no result | | | | |")
            continue
        latency = report["latency_ms"]
        lines.append(f"| {mode} | {fmt(report['succeeded'])} | {fmt(report['failed'])} | "
                     f"{fmt(latency['p50'], 2)} | {fmt(latency['p99'], 2)} | "
                     f"{fmt(latency['max'], 2)} |")
        if report["failed"]:
            lines.append(f"| | {failure_summary(report)} | | | | |")
    lines += ["", "Target: no failed request. A reload is built on the main thread while the "
              "worker threads go on serving, and each worker swaps in the new runtime "
              "between two events, so a reload adds little to the latency of requests in "
              "flight."]
    return lines


def section_scale(results, scale_modes):
    meta = results.meta
    if SCALE_SERVER not in results.policy and start_failure(results, SCALE_SERVER) is None:
        return []
    identities = int(meta.get("scale_identities", "0"))
    lines = [f"## certgate with a policy of {identities:,} identities", ""]
    tail = start_failure(results, SCALE_SERVER)
    if tail is not None:
        return lines + [f"It did not start or failed the access check: `{tail}`"]
    fingerprints = int(meta.get("scale_fingerprints", "0"))
    size = int(meta.get("scale_policy_bytes", "0")) / 1048576
    index = int(meta.get("scale_client_index", "0"))
    lines += [f"`bench/make_policy.py` wrote one `/secret` route with {identities:,} `allow_cn` "
              f"entries, `good-client` at index {index:,}, and {fingerprints:,} allow plus "
              f"{fingerprints:,} deny fingerprint rules ({size:.1f} MiB). The gateway "
              "configuration is the normal one plus an admin listener and `[policy] watch`."]
    good, second, none = (results.policy.get(SCALE_SERVER, []) + ["n/a"] * 3)[:3]
    lines += ["", f"Access check: CN good-client {good}, CN second-client {second}, "
              f"no certificate {none}.", "", "### Loading", ""]
    lines += scale_load_lines(results)
    lines += ["", "### Throughput against the normal policy", "",
              "The normal policy's figures are the certgate rows of the throughput tables "
              "above, measured just before these.", ""]
    lines += scale_mode_lines(results, scale_modes)
    lines += ["", "### Reload under load", ""]
    lines += scale_reload_lines(results)
    return lines


def start_failure(results, server):
    """Return the log tail of a server that did not pass the access check, or None."""
    start = results.dir / "results" / f"{server}-start.txt"
    return " ".join(start.read_text().split()) if start.exists() else None


def run_failures(results, server):
    """Return one line per run of SERVER that failed or left no result."""
    lines = []
    for mode in results.modes + ["idle"]:
        report = results.report(server, mode)
        if report is None:
            text = results.dir / "results" / f"{server}-{mode}.txt"
            tail = text.read_text().strip().splitlines()[-1:] if text.exists() else []
            lines.append(f"- {server} {mode}: no result. {' '.join(tail)}")
        elif report["failed"]:
            lines.append(f"- {server} {mode}: {failure_summary(report)}")
    return lines


def section_generator(results):
    lines = ["## Load generator", ""]
    saturated = []
    unsaturated = []
    failures = []
    for server in results.servers:
        tail = start_failure(results, server)
        if tail is not None:
            failures.append(f"- {server}: did not start or failed the access check. "
                            f"Last log lines: `{tail}`")
            continue
        failures += run_failures(results, server)
        for mode in results.modes + ["idle"]:
            report = results.report(server, mode)
            if report and report["cpu"]["saturated"]:
                saturated.append(f"{server} {mode} ({report['cpu']['percent']:.0f}%)")
            server_cpu = results.runs.get((server, mode), (None, None))[0]
            if report and server_cpu and not report["cpu"]["saturated"]:
                if server_cpu / report["elapsed_s"] < 0.95:
                    unsaturated.append(f"{server} {mode}")
    if saturated:
        lines.append("The generator was saturated (one of its threads at 95% of a core or more, "
                     "or all of them at 95% of the cores they could use) in: "
                     + ", ".join(saturated)
                     + ". In those runs ops/s is a lower bound for the server; compare "
                     "*ops per server CPU s* instead. The generator's BoringSSL does the same "
                     "public-key work per full handshake as the server's. Where more cores are "
                     "free, `BENCH_CLIENT_CORES` and `BENCH_THREADS` spread the generator over "
                     "them.")
    else:
        lines.append("The generator was not saturated in any run: every thread stayed below 95% "
                     "of a core, and all of them together below 95% of the cores they could use.")
    if unsaturated:
        measured = sum(1 for key in results.runs
                       if key[0] in results.servers and key[0] not in results.failed_servers())
        where = "any run" if len(unsaturated) == measured else ", ".join(unsaturated)
        lines += ["", f"Neither the server nor the generator reached 95% of its core in {where}. "
                  "Something outside both programs limited those rates, most likely other "
                  "processes on this shared machine (see the load average above) and the "
                  "wake-up latency between the processes. Their ops/s therefore understates "
                  "what the server can do, and *ops per server CPU s* is the figure to compare."]
    lines += ["", "### Failures", ""]
    lines += failures or ["None."]
    return lines


def section_streaming(results):
    table = results.dir / "stream.md"
    if not table.exists():
        return []
    rows = [line for line in table.read_text().splitlines() if line.startswith("|")]
    log = results.dir / "stream.log"
    if len(rows) < 4:
        tail = " ".join(log.read_text().split()[-40:]) if log.exists() else ""
        return ["## Streaming a large body through certgate", "",
                f"The streaming run left no result. Last log lines: `{tail}`"]
    return ["## Streaming a large body through certgate", "",
            f"`bench/stream_memory.sh {results.meta.get('stream_mib', '?')}` sends the body "
            "through certgate (configured as `conf/gateway.toml`, upstream-demo behind it, "
            "curl as the client, no CPU pinning) and samples the gateway's resident memory "
            "every 0.2 s. The SHA-256 of what the client received is compared with what "
            "was sent (upload, echoed back) or with the upstream's known pattern (download).",
            ""] + rows + [
            "", "Each direction stops reading at 256 KiB of unsent data and resumes below "
            "64 KiB, so the gateway's memory does not grow with the body."]


def main():
    workdir, servers, modes = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
    scale_modes = sys.argv[4].split() if len(sys.argv) > 4 else []
    results = Results(workdir, servers, modes)
    today = datetime.date.today().isoformat()
    out = [
        "# certgate benchmark results",
        "",
        f"Written by `bench/run` on {today}. Rerun it to refresh this page; "
        "`bench/README.md` explains the modes. The machine is shared with other work, "
        "so compare servers within one run rather than across runs.",
        "",
    ]
    out += section_targets(results) + [""]
    out += section_machine(results) + [""] + section_method(results) + [""]
    out += section_policy(results) + ["", "## Throughput", ""]
    for mode in modes:
        out += section_mode(results, mode) + [""]
    out += section_memory(results) + [""]
    scale = section_scale(results, scale_modes)
    out += scale + [""] if scale else []
    streaming = section_streaming(results)
    out += streaming + [""] if streaming else []
    out += section_crypto(results) + [""]
    out += section_generator(results)
    print("\n".join(out))


if __name__ == "__main__":
    main()
