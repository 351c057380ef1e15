"""Settings: one frozen object from SAYLAU_* variables, arguments on top, no placeholders."""

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest

from saylau.core.settings import PLACEHOLDER_SECRETS, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No SAYLAU_* variable of the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.upper().startswith("SAYLAU_"):
            monkeypatch.delenv(name)


def test_defaults():
    settings = Settings()
    assert settings.kafka_bootstrap is None
    assert settings.broker_port == 9092
    assert settings.topic_prefix == "saylau"
    assert settings.topic_partitions == 4
    assert settings.warehouse == "chdb://data/warehouse"
    assert settings.clickhouse_password.get_secret_value() == ""
    assert settings.election_date == dt.date(2026, 3, 15)
    assert settings.election_timezone == "Asia/Almaty"
    assert (settings.polls_open, settings.polls_close) == (dt.time(7, 0), dt.time(20, 0))
    assert settings.dashboard_port == 8050
    assert settings.dashboard_trusted_proxies == 0  # no proxy header is believed
    assert settings.simulate_speed == 120.0
    assert settings.log_level == "info"


def test_registry_path_defaults_to_the_data_dir():
    assert Settings().registry_path == Path("data") / "stations.csv"
    assert Settings(data_dir=Path("/srv/x")).registry_path == Path("/srv/x/stations.csv")
    assert Settings(registry=Path("/r.csv")).registry_path == Path("/r.csv")


def test_tz_is_the_election_time_zone():
    assert Settings(election_timezone="Asia/Aqtobe").tz == ZoneInfo("Asia/Aqtobe")


@pytest.mark.parametrize(("variable", "value", "field", "expected"), [
    ("SAYLAU_BROKER_PORT", "19092", "broker_port", 19092),
    ("SAYLAU_KAFKA_BOOTSTRAP", "kafka:9092", "kafka_bootstrap", "kafka:9092"),
    ("SAYLAU_WAREHOUSE", "clickhouse://ch:9000/saylau", "warehouse", "clickhouse://ch:9000/saylau"),
    ("SAYLAU_DATA_DIR", "/srv/saylau", "data_dir", Path("/srv/saylau")),
    ("SAYLAU_ELECTION_DATE", "2027-10-03", "election_date", dt.date(2027, 10, 3)),
    ("SAYLAU_ELECTION_TIMEZONE", "Asia/Qyzylorda", "election_timezone", "Asia/Qyzylorda"),
    ("SAYLAU_POLLS_OPEN", "08:00", "polls_open", dt.time(8, 0)),
    ("SAYLAU_SIMULATE_SPEED", "600", "simulate_speed", 600.0),
    ("SAYLAU_LOG_LEVEL", "debug", "log_level", "debug"),
    ("saylau_dashboard_port", "8111", "dashboard_port", 8111),  # case-insensitive
    ("SAYLAU_DASHBOARD_TRUSTED_PROXIES", "1", "dashboard_trusted_proxies", 1),
])
def test_environment_overrides_defaults(monkeypatch, variable, value, field, expected):
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(), field) == expected


def test_password_is_read_from_the_environment_and_never_shown(monkeypatch):
    monkeypatch.setenv("SAYLAU_CLICKHOUSE_PASSWORD", "s3cr3t-Ab9")
    settings = Settings()
    assert settings.clickhouse_password.get_secret_value() == "s3cr3t-Ab9"
    assert "s3cr3t-Ab9" not in repr(settings)
    assert "s3cr3t-Ab9" not in str(settings)
    assert "s3cr3t-Ab9" not in settings.model_dump_json()


def test_arguments_override_the_environment(monkeypatch):
    monkeypatch.setenv("SAYLAU_BROKER_PORT", "19092")
    monkeypatch.setenv("SAYLAU_DASHBOARD_PORT", "8111")
    settings = load_settings(broker_port=29092)
    assert settings.broker_port == 29092
    assert settings.dashboard_port == 8111


def test_missing_arguments_leave_the_environment_alone(monkeypatch):
    monkeypatch.setenv("SAYLAU_BROKER_PORT", "19092")
    assert load_settings(broker_port=None, warehouse=None).broker_port == 19092


def test_invalid_environment_value_is_refused(monkeypatch):
    monkeypatch.setenv("SAYLAU_BROKER_PORT", "many")
    with pytest.raises(pydantic.ValidationError):
        Settings()


def placeholder_error(password: str) -> dict:
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings(clickhouse_password=password)
    (error,) = caught.value.errors(include_input=False)
    return error


@pytest.mark.parametrize("password", sorted(PLACEHOLDER_SECRETS) + ["ChangeMe", " changeme "])
def test_placeholder_password_is_refused_without_repeating_it(password):
    error = placeholder_error(password)
    assert error["loc"] == ("clickhouse_password",)
    assert "placeholder" in error["msg"]
    # the same words whatever was sent, so the message cannot carry the value
    assert error["msg"] == placeholder_error("xxx")["msg"]
    assert "changeme" not in error["msg"].lower()


def test_placeholder_password_from_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("SAYLAU_CLICKHOUSE_PASSWORD", "changeme")
    with pytest.raises(pydantic.ValidationError):
        Settings()


def test_placeholder_password_error_text_does_not_print_the_value():
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings(clickhouse_password="changeme")
    assert "changeme" not in str(caught.value)


@pytest.mark.parametrize("password", ["", "a-real-one-9f2c", "changeme2"])
def test_real_or_empty_password_is_accepted(password):
    assert Settings(clickhouse_password=password).clickhouse_password.get_secret_value() \
        == password


@pytest.mark.parametrize("zone", [
    "../etc/passwd",
    "",
    "Mars/Olympus",
    "Asia/Almatyy",
])
def test_unknown_time_zone_is_refused(zone):
    with pytest.raises(pydantic.ValidationError):
        Settings(election_timezone=zone)


@pytest.mark.parametrize(("field", "value"), [
    ("dashboard_trusted_proxies", -1),
    ("log_level", "verbose"),
    ("topic_prefix", "saylau topics"),
    ("topic_partitions", 0),
    ("registry_stations", 19),
    ("worker_batch_size", 0),
    ("worker_batch_seconds", 0),
    ("dashboard_refresh_seconds", -1),
    ("simulate_speed", -1),
    ("election_date", "15.03.2026"),
    ("polls_open", "25:00"),
])
def test_impossible_value_is_refused(field, value):
    with pytest.raises(pydantic.ValidationError):
        Settings(**{field: value})


def test_unknown_setting_is_refused():
    with pytest.raises(pydantic.ValidationError):
        Settings(brokr_port=1)


def test_settings_are_frozen():
    settings = Settings()
    with pytest.raises(pydantic.ValidationError):
        settings.broker_port = 1
    assert settings.broker_port == 9092


def test_every_setting_is_described():
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []
