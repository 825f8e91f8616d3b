#!/usr/bin/env python3
"""Tests for bench/make_policy.py. With CERTGATE_BIN set (ctest sets it),
certgate itself also loads a generated policy and decides for the
benchmark client."""

import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_policy  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "make_policy.py"


def generate(*args):
    return subprocess.run([sys.executable, str(SCRIPT), "--upstream", "127.0.0.1:9", *args],
                          capture_output=True, text=True, check=False)


def parsed_route(text):
    policy = tomllib.loads(text)
    assert policy["upstreams"]["demo"]["address"] == "127.0.0.1:9"
    (route,) = policy["routes"]
    return route


class GeneratedPolicy(unittest.TestCase):
    def test_identity_count_and_client_position(self):
        route = parsed_route(make_policy.make_policy("127.0.0.1:9", 1000, "good-client", 400, 5, 1))
        self.assertEqual(route["prefix"], "/secret")
        self.assertEqual(route["upstream"], "demo")
        self.assertEqual(len(route["allow_cn"]), 1000)
        self.assertEqual(route["allow_cn"].index("good-client"), 400)
        self.assertEqual(route["allow_cn"].count("good-client"), 1)
        self.assertEqual(len(set(route["allow_cn"])), 1000)

    def test_default_position_not_first(self):
        result = generate("--identities", "100000", "--fingerprints", "0")
        self.assertEqual(result.returncode, 0, result.stderr)
        names = parsed_route(result.stdout)["allow_cn"]
        self.assertEqual(len(names), 100_000)
        self.assertEqual(names.index("good-client"), 62_500)

    def test_fingerprint_rules(self):
        route = parsed_route(make_policy.make_policy("127.0.0.1:9", 10, "good-client", 3, 50, 7))
        self.assertEqual(len(route["allow"]), 50)
        self.assertEqual(len(route["deny"]), 50)
        for rule in route["allow"] + route["deny"]:
            self.assertEqual(list(rule), ["fingerprint"])
            self.assertRegex(rule["fingerprint"], r"^[0-9a-f]{64}$")
        allowed = {rule["fingerprint"] for rule in route["allow"]}
        denied = {rule["fingerprint"] for rule in route["deny"]}
        self.assertFalse(allowed & denied)

    def test_same_seed_same_file(self):
        first = make_policy.make_policy("127.0.0.1:9", 100, "good-client", 50, 10, 3)
        again = make_policy.make_policy("127.0.0.1:9", 100, "good-client", 50, 10, 3)
        other = make_policy.make_policy("127.0.0.1:9", 100, "good-client", 50, 10, 4)
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)

    def test_second_client_absent(self):
        names = parsed_route(make_policy.make_policy("127.0.0.1:9", 500, "good-client", 1, 0, 1))[
            "allow_cn"]
        self.assertNotIn("second-client", names)

    def test_cn_quoted_for_toml(self):
        route = parsed_route(make_policy.make_policy("127.0.0.1:9", 3, 'odd "cn" \\', 1, 0, 1))
        self.assertEqual(route["allow_cn"][1], 'odd "cn" \\')

    def test_out_file_replaced(self):
        with tempfile.TemporaryDirectory() as directory:
            out = os.path.join(directory, "policy.toml")
            Path(out).write_text("old")
            result = generate("--identities", "20", "--out", out)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(len(parsed_route(Path(out).read_text())["allow_cn"]), 20)
            self.assertEqual(os.listdir(directory), ["policy.toml"])


class InvalidArguments(unittest.TestCase):
    def check_rejected(self, args, message):
        result = generate(*args)
        self.assertEqual(result.returncode, 2)
        self.assertIn(message, result.stderr)
        self.assertEqual(result.stdout, "")

    def test_client_first_rejected(self):
        self.check_rejected(["--identities", "10", "--position", "0"], "--position 0: expected 1 to 9")

    def test_position_past_end_rejected(self):
        self.check_rejected(["--identities", "10", "--position", "10"],
                            "--position 10: expected 1 to 9")

    def test_single_identity_rejected(self):
        self.check_rejected(["--identities", "1"], "--identities 1: expected 2 or more")

    def test_negative_fingerprints_rejected(self):
        self.check_rejected(["--fingerprints", "-1"], "--fingerprints -1: expected 0 or more")

    def test_generated_prefix_cn_rejected(self):
        self.check_rejected(["--client-cn", "bench-identity-000001"], "--client-cn")

    def test_control_character_rejected(self):
        result = generate("--identities", "5", "--client-cn", "bad\ncn")
        self.assertEqual(result.returncode, 2)
        self.assertIn("control character", result.stderr)


@unittest.skipUnless(os.environ.get("CERTGATE_BIN"), "CERTGATE_BIN is not set")
class CertgateLoadsPolicy(unittest.TestCase):
    """certgate accepts a generated policy and finds the client by its CN."""

    def setUp(self):
        self.binary = os.environ["CERTGATE_BIN"]
        self.directory = tempfile.TemporaryDirectory()
        self.dir = Path(self.directory.name)
        subprocess.run([self.binary, "pki", "demo", "--out", str(self.dir / "pki")],
                       check=True, capture_output=True)
        pki = self.dir / "pki"
        (self.dir / "gateway.toml").write_text(
            '[server]\nlisten = ["127.0.0.1:9"]\n\n'
            f'[tls]\ncert = "{pki}/server.crt"\nkey = "{pki}/server.key"\n'
            f'client_ca = "{pki}/ca.crt"\n\n[policy]\nfile = "policy.toml"\n')
        self.policy = self.dir / "policy.toml"

    def tearDown(self):
        self.directory.cleanup()

    def certgate(self, *args):
        return subprocess.run([self.binary, *args, "--config", str(self.dir / "gateway.toml")],
                              capture_output=True, text=True, check=False)

    def explain(self, client):
        result = self.certgate("explain", "--cert", str(self.dir / "pki" / f"{client}.crt"),
                               "--path", "/secret")
        match = re.search(r"^decision +(.*)$", result.stdout, re.MULTILINE)
        return result.returncode, match.group(1) if match else result.stdout + result.stderr

    def test_check_config_accepts_policy(self):
        self.policy.write_text(make_policy.make_policy("127.0.0.1:9", 20_000, "good-client",
                                                       12_345, 100, 1))
        result = self.certgate("check-config")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("routes: 1", result.stdout)

    def test_client_allowed_by_its_cn_rule(self):
        self.policy.write_text(make_policy.make_policy("127.0.0.1:9", 20_000, "good-client",
                                                       12_345, 100, 1))
        code, decision = self.explain("client_good")
        self.assertEqual(code, 0, decision)
        self.assertRegex(decision, r"^ALLOW by .*allow_cn\[12345\]$")

    def test_second_client_denied(self):
        self.policy.write_text(make_policy.make_policy("127.0.0.1:9", 20_000, "good-client",
                                                       12_345, 100, 1))
        code, decision = self.explain("client_second")
        self.assertEqual(code, 1, decision)
        self.assertTrue(decision.startswith("DENY"), decision)


if __name__ == "__main__":
    unittest.main()
