"""`saylau observers onboard` and the sign-in link `issue-token` prints."""

from __future__ import annotations

import re
import sqlite3
import zlib
from pathlib import Path

import pytest

from saylau.cli.main import main
from saylau.ingest.gateway.tokens import TokenStore, tokens_path

PEPPER = "onboard-test-pepper-0123456789"
ROSTER = """observer_id,name,phone,home_region,organisation,assigned_station
obs-a1,Aigerim Tulegenova,+77001112233,KAZ011,Saylau,KAZ011-0001
obs-a2,Bolat Serikov,+77001112234,KAZ011,Saylau,KAZ011-0002
obs-b1,Dana Omarova,+77001112235,KAZ001,Saylau,
"""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SAYLAU_DATA_DIR", "SAYLAU_GATEWAY_TOKEN_PEPPER", "SAYLAU_GATEWAY_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAYLAU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAYLAU_GATEWAY_TOKEN_PEPPER", PEPPER)
    monkeypatch.setenv("SAYLAU_GATEWAY_PUBLIC_URL", "https://report.example.kz")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return tmp_path / "data"


def pdf_text(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (fpdf2 deflates page contents)."""
    parts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(parts)


def observers_with_tokens(data_dir: Path) -> list[str]:
    with sqlite3.connect(tokens_path(data_dir)) as db:
        return sorted(row[0] for row in db.execute("SELECT observer_id FROM tokens"))


def test_onboard_issues_a_token_per_observer_and_writes_the_sheet(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sheet"
    assert main(["observers", "onboard", "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(out)]) == 0
    assert "3 tokens issued" in capsys.readouterr().out
    assert observers_with_tokens(data_dir) == ["obs-a1", "obs-a2", "obs-b1"]
    page = (out / "onboarding.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "obs-a1" in page and "KAZ011-0002" in page
    raw = (out / "onboarding.pdf").read_bytes()
    pdf = pdf_text(raw)
    assert raw.startswith(b"%PDF") and b"obs-b1" in pdf and b"KAZ011-0001" in pdf
    for text in ("Aigerim", "Tulegenova", "Serikov", "+7700", "7001112233"):
        assert text not in page and text.encode() not in pdf
    assert (out / "onboarding.html").stat().st_mode & 0o077 == 0


def test_onboard_one_region(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet"
    assert main(["observers", "onboard", "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(out), "--region", "KAZ001"]) == 0
    assert observers_with_tokens(data_dir) == ["obs-b1"]
    assert (out / "onboarding.html").read_text(encoding="utf-8").count("<svg") == 1


def test_onboard_a_region_without_observers_fails(data_dir: Path, tmp_path: Path) -> None:
    assert main(["observers", "onboard", "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(tmp_path / "sheet"), "--region", "KAZ999"]) == 1


def test_issue_token_prints_the_sign_in_link(data_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["observers", "issue-token", "obs-a1", "--link"]) == 0
    printed = capsys.readouterr()
    link = re.fullmatch(r"https://report\.example\.kz/app/#token=(sy_[A-Za-z0-9_-]+)",
                        printed.out.strip())
    assert link, printed.out
    token = link.group(1)
    assert token not in printed.err  # shown once
    store = TokenStore(tokens_path(data_dir), PEPPER)
    try:
        identity = store.verify(token)
        assert identity is not None and identity.observer_id == "obs-a1"
    finally:
        store.close()
