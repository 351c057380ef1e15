"""`saylau export --every SECONDS`, the compose exporter: a real process, real bundles, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saylau.cli.main import build_parser
from saylau.exports import list_bundles, verify_bundle
from saylau.exports.publish import read_latest

pytestmark = pytest.mark.timeout(400)

EVERY_S = 2
BUNDLES_TIMEOUT_S = 240
STOP_TIMEOUT_S = 60  # the bundle being written is finished first


def wait_for_bundles(process: subprocess.Popen[str], exports: Path, count: int) -> None:
    deadline = time.monotonic() + BUNDLES_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the exporter exited with {process.returncode}"
        if len(list_bundles(exports)) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} bundles in {exports} after {BUNDLES_TIMEOUT_S} s")


def test_every_must_be_a_positive_number_and_excludes_as_of(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["export", "--every", "1.5"]).every == 1.5
    for bad in (["--every", "0"], ["--every", "-3"], ["--every", "soon"],
                ["--every", "60", "--as-of", "20:00"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["export", *bad])
    assert "--every" in capsys.readouterr().err


def test_export_every_writes_bundle_after_bundle_until_sigterm(tmp_path: Path) -> None:
    # An empty day: each bundle is as of "now", so every tick publishes a new one.
    exports = tmp_path / "exports"
    env = {**os.environ, "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY_STATIONS": "200",
           "SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/warehouse", "SAYLAU_LOG_LEVEL": "info",
           "SAYLAU_EXPORT_DIR": str(exports)}
    log = (tmp_path / "exporter.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "saylau", "export", "--every", str(EVERY_S)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_bundles(process, exports, 2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()
    output = (tmp_path / "exporter.log").read_text()
    bundles = list_bundles(exports)
    assert len(bundles) >= 2, output[-3000:]
    assert len({bundle.data_as_of for bundle in bundles}) == len(bundles)
    assert [problem for bundle in bundles for problem in verify_bundle(bundle.path)] == []
    assert read_latest(exports) in {bundle.path for bundle in bundles}
    assert output.count("exported the snapshot as of") == len(bundles)
    assert "export loop stopped" in output
    assert "Traceback" not in output
    assert not list(exports.glob(".staging-*")), "a stopped exporter leaves no half bundle"
