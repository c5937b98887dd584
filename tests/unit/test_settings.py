"""Settings.from_env: the environment, read once, with the embedded mode as the default."""

from __future__ import annotations

import pytest

from shared.platform.settings import SettingError, Settings


def test_an_empty_environment_gives_the_embedded_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///.routines/routines.db"
    assert settings.redis_url is None
    assert settings.admin_token is None
    assert settings.secret_key is None
    assert settings.public_url == "http://127.0.0.1:3100"
    assert settings.body_limit == 1024 * 1024
    assert settings.broker_namespace == "routines"
    assert settings.sweep_after_seconds == 30.0
    assert settings.scheduler_interval_seconds == 1.0
    assert settings.broker_heartbeat_timeout_ms == 60_000
    assert settings.data_dir == ".routines"
    assert settings.mode == "embedded"


def test_the_default_sqlite_database_lives_in_the_data_dir() -> None:
    settings = Settings.from_env({"ROUTINES_DATA_DIR": "/var/lib/routines"})
    assert settings.database_url == "sqlite:////var/lib/routines/routines.db"
    assert settings.data_dir == "/var/lib/routines"


def test_an_explicit_database_url_wins_over_the_data_dir() -> None:
    env = {"ROUTINES_DATA_DIR": "/data", "DATABASE_URL": "sqlite:///elsewhere.db"}
    assert Settings.from_env(env).database_url == "sqlite:///elsewhere.db"


def test_an_empty_database_url_falls_back_to_sqlite() -> None:
    assert Settings.from_env({"DATABASE_URL": ""}).database_url.startswith("sqlite:///")


@pytest.mark.parametrize("url", ["postgres://u:p@db:5432/r", "postgresql://u:p@db:5432/r"])
def test_postgres_urls_are_normalised_to_the_psycopg2_driver(url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": url})
    assert settings.database_url == "postgresql+psycopg2://u:p@db:5432/r"


def test_a_url_that_already_names_its_driver_is_kept() -> None:
    url = "postgresql+psycopg2://u@db/r"
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url


def test_the_mode_is_distributed_only_with_a_redis_url() -> None:
    pg = {"DATABASE_URL": "postgresql://db/r"}
    assert Settings.from_env(pg).mode == "embedded"
    assert Settings.from_env({**pg, "REDIS_URL": ""}).mode == "embedded"
    distributed = Settings.from_env({**pg, "REDIS_URL": "redis://cache:6379/0"})
    assert distributed.mode == "distributed"
    assert distributed.redis_url == "redis://cache:6379/0"


def test_empty_tokens_count_as_unset() -> None:
    settings = Settings.from_env({"ROUTINES_ADMIN_TOKEN": "", "ROUTINES_SECRET_KEY": ""})
    assert settings.admin_token is None
    assert settings.secret_key is None


def test_tokens_are_read_from_the_environment() -> None:
    env = {"ROUTINES_ADMIN_TOKEN": "adm", "ROUTINES_SECRET_KEY": "sec"}
    settings = Settings.from_env(env)
    assert (settings.admin_token, settings.secret_key) == ("adm", "sec")


def test_numbers_are_parsed_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ROUTINES_BODY_LIMIT": "2048",
            "ROUTINES_SWEEP_AFTER_SECONDS": "2.5",
            "ROUTINES_SCHEDULER_INTERVAL_SECONDS": "0.25",
            "ROUTINES_BROKER_HEARTBEAT_TIMEOUT_MS": "5000",
        }
    )
    assert settings.body_limit == 2048
    assert settings.sweep_after_seconds == 2.5
    assert settings.scheduler_interval_seconds == 0.25
    assert settings.broker_heartbeat_timeout_ms == 5000


def test_the_catch_up_grace_the_waiter_bound_and_proxy_hops_are_read_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.catch_up_grace_seconds, defaults.wait_max_waiters) == (60.0, 2)
    assert defaults.proxy_hops == 0
    settings = Settings.from_env(
        {
            "ROUTINES_CATCH_UP_GRACE_SECONDS": "90",
            "ROUTINES_WAIT_MAX_WAITERS": "0",
            "ROUTINES_PROXY_HOPS": "1",
        }
    )
    assert settings.catch_up_grace_seconds == 90.0
    assert settings.wait_max_waiters == 0
    assert settings.proxy_hops == 1


def test_empty_numbers_fall_back_to_their_defaults() -> None:
    settings = Settings.from_env({"ROUTINES_BODY_LIMIT": "", "ROUTINES_SWEEP_AFTER_SECONDS": ""})
    assert settings.body_limit == 1024 * 1024
    assert settings.sweep_after_seconds == 30.0


def test_a_malformed_number_is_an_error_at_start_up() -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"ROUTINES_BODY_LIMIT": "1MB"})


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("ROUTINES_BODY_LIMIT", "abc", "ROUTINES_BODY_LIMIT must be a whole number, got 'abc'"),
        ("ROUTINES_PROXY_HOPS", "1.5", "ROUTINES_PROXY_HOPS must be a whole number, got '1.5'"),
        (
            "ROUTINES_SWEEP_AFTER_SECONDS",
            "soon",
            "ROUTINES_SWEEP_AFTER_SECONDS must be a number, got 'soon'",
        ),
    ],
)
def test_a_malformed_number_is_named_in_one_sentence(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingError) as raised:
        Settings.from_env({name: raw})
    assert str(raised.value) == message


def test_the_secret_key_is_a_comma_separated_list_newest_first() -> None:
    settings = Settings.from_env({"ROUTINES_SECRET_KEY": "new-key,old-key"})
    assert settings.secret_keys == ("new-key", "old-key")


def test_a_single_secret_key_is_a_list_of_one() -> None:
    assert Settings.from_env({"ROUTINES_SECRET_KEY": "only"}).secret_keys == ("only",)


def test_blank_entries_of_the_key_list_are_ignored_and_keys_kept_verbatim() -> None:
    settings = Settings.from_env({"ROUTINES_SECRET_KEY": ",new , ,old\n,"})
    assert settings.secret_keys == ("new ", "old\n")


def test_a_key_list_without_a_key_counts_as_unset() -> None:
    settings = Settings.from_env({"ROUTINES_SECRET_KEY": " , ,"})
    assert settings.secret_key is None
    assert settings.secret_keys == ()


def test_the_public_url_loses_its_trailing_slash() -> None:
    settings = Settings.from_env({"ROUTINES_PUBLIC_URL": "https://routines.example.com/"})
    assert settings.public_url == "https://routines.example.com"


def test_the_broker_namespace_is_configurable() -> None:
    assert Settings.from_env({"ROUTINES_BROKER_NAMESPACE": "t1"}).broker_namespace == "t1"


def test_from_env_reads_os_environ_when_given_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTINES_BROKER_NAMESPACE", "from-os-environ")
    assert Settings.from_env().broker_namespace == "from-os-environ"


def test_with_overrides_returns_a_changed_copy() -> None:
    base = Settings.from_env({})
    changed = base.with_overrides(redis_url="redis://x", body_limit=10)
    assert (changed.mode, changed.body_limit) == ("distributed", 10)
    assert (base.mode, base.body_limit) == ("embedded", 1024 * 1024)


def test_database_time_limits_default_to_their_production_values() -> None:
    settings = Settings.from_env({})
    assert settings.db_statement_timeout_ms == 5_000
    assert settings.db_lock_timeout_ms == 3_000
    assert settings.db_idle_in_transaction_timeout_ms == 10_000
    assert settings.db_connect_timeout_seconds == 3.0


def test_database_time_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ROUTINES_DB_STATEMENT_TIMEOUT_MS": "1500",
            "ROUTINES_DB_LOCK_TIMEOUT_MS": "250",
            "ROUTINES_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "0",
            "ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "0.5",
        }
    )
    assert settings.db_statement_timeout_ms == 1500
    assert settings.db_lock_timeout_ms == 250
    assert settings.db_idle_in_transaction_timeout_ms == 0
    assert settings.db_connect_timeout_seconds == 0.5


@pytest.mark.parametrize(
    "name", ["ROUTINES_DB_STATEMENT_TIMEOUT_MS", "ROUTINES_DB_CONNECT_TIMEOUT_SECONDS"]
)
def test_a_negative_database_time_limit_is_an_error_at_start_up(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: "-1"})


def test_runs_are_kept_ninety_days_unless_told_otherwise_and_zero_keeps_them_for_ever() -> None:
    assert Settings.from_env({}).run_retention_days == 90
    assert Settings.from_env({"ROUTINES_RUN_RETENTION_DAYS": "0"}).run_retention_days == 0
    assert Settings.from_env({"ROUTINES_RUN_RETENTION_DAYS": "30"}).run_retention_days == 30


def test_a_negative_run_retention_is_refused_at_start() -> None:
    with pytest.raises(SettingError, match="ROUTINES_RUN_RETENTION_DAYS must be 0"):
        Settings.from_env({"ROUTINES_RUN_RETENTION_DAYS": "-1"})
