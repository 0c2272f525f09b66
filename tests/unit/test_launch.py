"""The UI never opens to a network without a password."""
import subprocess
import sys
from pathlib import Path

import launch

REPO = Path(__file__).resolve().parents[2]


def test_loopback_detection():
    assert launch.is_loopback("127.0.0.1") and launch.is_loopback("localhost") and launch.is_loopback("::1")
    assert not launch.is_loopback("0.0.0.0") and not launch.is_loopback("192.168.1.5")


def test_non_loopback_without_auth_refuses_with_one_line():
    proc = subprocess.run([sys.executable, "launch.py", "--host", "0.0.0.0", "--port", "1"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: refusing to serve on 0.0.0.0 without --auth")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_auth_format():
    assert launch.main(["--host", "0.0.0.0", "--auth", "nopassword"]) == 2
