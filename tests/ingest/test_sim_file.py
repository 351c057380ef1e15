"""`saylau simulate` to a file, and reading that file back as the messages that were sent."""

import io
import json
import os

import pytest

from saylau.cli.main import build_parser, main, settings_from_args
from saylau.cli.simulation import read_messages
from saylau.ingest.simulator import Progress
from tests.ingest.simulated import noisy_day


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("SAYLAU_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SAYLAU_DATA_DIR", str(tmp_path / "data"))


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


@pytest.mark.parametrize(("text", "expected"), [("60", 60.0), ("max", 0.0), ("MAX", 0.0),
                                                ("0", 0.0), ("2.5", 2.5)])
def test_speed_is_a_number_or_max(text, expected):
    args = build_parser().parse_args(["simulate", "--speed", text])
    assert settings_from_args(args).simulate_speed == expected


def test_simulate_writes_events_and_truth_for_a_generated_registry(tmp_path, capsys):
    output = tmp_path / "day.jsonl"
    code = exit_code(["simulate", "--stations", "300", "--seed", "5", "--output", str(output),
                      "--duplicate-rate", "0.05", "--late-rate", "0", "--no-progress"])
    assert code == 0
    truth = json.loads((tmp_path / "day.truth.json").read_text(encoding="utf-8"))
    assert (truth["stations"], truth["seed"]) == (300, 5)
    assert truth["registered_voters"] == 300 * 1200
    assert truth["noise"]["requested"]["duplicate"] == 0.05
    assert truth["noise"]["requested"]["late"] == 0.0
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len(lines) == truth["noise"]["messages"]
    assert f"wrote {len(lines)} messages" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--stations", "5"], "saylau simulate:"),
    (["--output", "a.jsonl", "--from", "b.jsonl"], "not allowed with argument"),
    (["--late-rate", "1.5"], "late rate must be in [0, 1)"),
    (["--speed", "fast"], "invalid speed value"),
    (["--output", "day.truth.json"], "looks like a truth file"),
])
def test_impossible_requests_exit_2_saying_why(tmp_path, capsys, argv, message):
    extra = [] if "--output" in argv else ["--output", str(tmp_path / "x.jsonl")]
    assert exit_code(["simulate", *argv, *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_written_day_reads_back_as_the_messages_sent():
    day = noisy_day()
    assert list(read_messages(day.path)) == list(day.day.messages())


def test_a_line_not_in_the_simulators_compact_form_is_parsed_and_its_event_encoded(tmp_path):
    path = tmp_path / "day.jsonl"
    path.write_text(
        '{"sent_at":"2026-03-15T06:00:00+05:00","topic":"saylau.turnout","key":"K1",'
        '"value":{"kind": "turnout",  "note":"é"}}\n'
        '\n'
        '{"sent_at": "2026-03-15T06:00:01+05:00", "topic": "saylau.turnout", "key": "K2", '
        '"value": {"kind": "turnout", "note": "\\u00e9"}}\n'
        '{"sent_at":"2026-03-15T06:00:02+05:00","topic":"saylau.incidents","key":"K3",'
        '"value":"{\\"kind\\": broken"}\n', encoding="utf-8")
    messages = list(read_messages(path))
    assert [(m.topic_suffix, m.key, m.sent_at.second) for m in messages] == [
        ("turnout", "K1", 0), ("turnout", "K2", 1), ("incidents", "K3", 2)]
    assert [m.value.decode() for m in messages] == [
        '{"kind": "turnout",  "note":"é"}',  # the simulator's form: the text as written
        '{"kind":"turnout","note":"é"}',
        '{"kind": broken']


def test_progress_bar_shows_share_count_and_rate():
    stream = io.StringIO()
    ticks = iter([0.0, 1.0, 2.0])
    bar = Progress(200, "simulate", stream=stream, clock=lambda: next(ticks))
    bar(100)
    bar(100)
    bar.close()
    assert stream.getvalue() == "\rsimulate  50% 100/200 100/s\rsimulate 100% 200/200 100/s\n"
