"""The journal on disk, tokens in SQLite, the `saylau observers` and `gateway` commands."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

import pytest

from saylau.cli.main import main
from saylau.ingest.gateway.journal import GroupCommitter, Journal, Record
from saylau.ingest.gateway.tokens import PepperError, TokenStore, tokens_path
from tests.ingest.gateway.conftest import PEPPER


def records(n: int) -> list[Record]:
    return [Record("saylau.turnout", "KAZ001-0001", f'{{"n": {i}}}', "2026-03-15T07:00:00+00:00")
            for i in range(n)]


def test_a_reopened_journal_returns_what_kafka_has_not_acknowledged(tmp_path):
    journal = Journal(tmp_path, segment_bytes=300)
    assert journal.open() == []
    entries = journal.append(records(10))
    journal.mark_delivered(4)
    journal.close()
    again = Journal(tmp_path)
    assert [entry.offset for entry in again.open()] == list(range(4, 10))
    assert again.append(records(1))[0].offset == 10
    again.close()
    assert entries[0].record.value == '{"n": 0}'


def test_a_torn_last_line_is_cut_off_and_fully_delivered_segments_are_removed(tmp_path):
    journal = Journal(tmp_path, segment_bytes=200, retain_seconds=0)
    journal.open()
    journal.append(records(6))
    journal.close()
    last = sorted(tmp_path.glob("*.jsonl"))[-1]
    with open(last, "ab") as file:
        file.write(b'{"o": 6, "t": "saylau.tu')  # a crash in the middle of a write
    journal = Journal(tmp_path, segment_bytes=200, retain_seconds=0)
    assert [entry.offset for entry in journal.open()] == list(range(6))
    segments = len(list(tmp_path.glob("*.jsonl")))
    journal.mark_delivered(6)
    assert len(list(tmp_path.glob("*.jsonl"))) < segments
    assert journal.retained(below=6) == [] or journal.retained(below=6)[0].offset > 0
    journal.close()


def test_concurrent_appends_share_one_fsync_and_keep_their_own_offsets(tmp_path):
    journal = Journal(tmp_path)
    journal.open()
    committed: list[int] = []

    async def scenario() -> list[list[int]]:
        committer = GroupCommitter(journal, lambda entries: committed.append(len(entries)))
        committer.start()
        results = await asyncio.gather(*(committer.append(records(2)) for _ in range(50)))
        await committer.stop()
        return [[entry.offset for entry in group] for group in results]

    groups = asyncio.run(scenario())
    assert sorted(offset for group in groups for offset in group) == list(range(100))
    assert len(committed) < 50  # grouped
    journal.close()


def test_tokens_are_stored_hashed_expire_and_can_be_revoked(tmp_path):
    store = TokenStore(tokens_path(tmp_path), PEPPER)
    issued = store.issue("obs-1")
    assert store.verify(issued.token).observer_id == "obs-1"  # type: ignore[union-attr]
    secret = issued.token.split("_", 2)[2]  # the secret itself may contain "_"
    assert secret.encode() not in tokens_path(tmp_path).read_bytes()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    assert store.verify(issued.token, now=later) is None
    wrong_last = "x" if issued.token[-1] != "x" else "y"
    assert store.verify(issued.token[:-1] + wrong_last) is None  # a wrong secret, before revoking
    store.cache_seconds = 0
    assert store.revoke(issued.identity.token_id)
    assert store.verify(issued.token) is None
    store.close()


def test_a_secret_with_underscores_and_dashes_verifies_and_is_not_stored(tmp_path, monkeypatch):
    # token_urlsafe draws from an alphabet with "_" and "-"; a token must not be split on them
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: "_Q-" + "a_b" * 14)
    store = TokenStore(tokens_path(tmp_path), PEPPER)
    issued = store.issue("obs-1")
    assert store.verify(issued.token).observer_id == "obs-1"  # type: ignore[union-attr]
    assert b"a_b" * 14 not in tokens_path(tmp_path).read_bytes()
    store.close()


@pytest.mark.parametrize("pepper", ["", "changeme", "short"])
def test_an_empty_placeholder_or_short_pepper_is_refused(tmp_path, pepper):
    with pytest.raises(PepperError):
        TokenStore(tokens_path(tmp_path), pepper)


def test_observers_issue_and_revoke_token_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAYLAU_GATEWAY_TOKEN_PEPPER", PEPPER)
    assert main(["observers", "--data-dir", str(tmp_path), "issue-token", "obs-9",
                 "--role", "hq", "--days", "1"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("sy_") and "role=hq" in captured.err and token not in captured.err
    token_id = captured.err.split("token_id=")[1].split()[0]
    assert main(["observers", "--data-dir", str(tmp_path), "revoke-token", token_id]) == 0
    assert main(["observers", "--data-dir", str(tmp_path), "revoke-token", "nope"]) == 1


def test_gateway_refuses_to_start_without_a_real_pepper(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAYLAU_GATEWAY_TOKEN_PEPPER", "changeme")
    assert main(["gateway", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "SAYLAU_GATEWAY_TOKEN_PEPPER" in err and "changeme" not in err
