"""What each process needs before it starts: the rules as a pure function of the environment."""

from __future__ import annotations

import pytest

from shared.platform.config_check import exit_if_misconfigured, problems

DISTRIBUTED = {
    "DATABASE_URL": "postgresql://app@db:5432/routines",
    "REDIS_URL": "redis://cache:6379/0",
    "ROUTINES_ADMIN_TOKEN": "admin",
    "ROUTINES_SECRET_KEY": "new-key,old-key",
}
PROCESSES = ["web", "worker", "scheduler"]


def without(*names: str, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in DISTRIBUTED.items() if k not in names}
    return {**env, **changes}


@pytest.mark.parametrize("role", PROCESSES)
def test_a_complete_distributed_environment_has_no_problems(role: str) -> None:
    assert problems(role, DISTRIBUTED) == []


@pytest.mark.parametrize("role", PROCESSES)
def test_every_distributed_process_needs_redis(role: str) -> None:
    assert problems(role, without("REDIS_URL")) == [
        "REDIS_URL is not set; the distributed processes need Redis "
        "(use 'routines up' for the embedded mode)"
    ]


@pytest.mark.parametrize("role", PROCESSES)
def test_every_distributed_process_needs_a_database_url(role: str) -> None:
    assert problems(role, without("DATABASE_URL"))[0].startswith("DATABASE_URL is not set;")


@pytest.mark.parametrize("role", PROCESSES)
def test_redis_with_a_sqlite_database_is_refused_as_contradictory(role: str) -> None:
    found = problems(role, without(DATABASE_URL="sqlite:///data/routines.db"))
    assert len(found) == 1
    assert found[0].startswith("REDIS_URL is set but DATABASE_URL is SQLite;")
    assert "separate processes cannot share" in found[0]


def test_a_database_other_than_postgresql_is_refused_by_its_scheme_only() -> None:
    found = problems("worker", without(DATABASE_URL="mysql://app:hunter2@db/routines"))
    assert found == ["DATABASE_URL must point at PostgreSQL, not mysql"]


def test_the_postgres_spelling_of_hosting_platforms_is_accepted() -> None:
    assert problems("scheduler", without(DATABASE_URL="postgres://app@db/routines")) == []


def test_missing_redis_is_named_before_a_missing_database() -> None:
    found = problems("web", without("REDIS_URL", "DATABASE_URL"))
    assert [problem.split(" ", 1)[0] for problem in found] == ["REDIS_URL", "DATABASE_URL"]


def test_web_needs_the_admin_token_and_the_secret_key() -> None:
    found = problems("web", without("ROUTINES_ADMIN_TOKEN", "ROUTINES_SECRET_KEY"))
    assert found[0].startswith("ROUTINES_ADMIN_TOKEN is not set;")
    assert found[1].startswith("ROUTINES_SECRET_KEY is not set;")


@pytest.mark.parametrize("role", ["worker", "scheduler"])
def test_worker_and_scheduler_need_neither_admin_token_nor_secret_key(role: str) -> None:
    assert problems(role, without("ROUTINES_ADMIN_TOKEN", "ROUTINES_SECRET_KEY")) == []


def test_a_secret_key_list_without_a_key_is_not_usable() -> None:
    found = problems("web", without(ROUTINES_SECRET_KEY=" , ,"))
    assert found == ["ROUTINES_SECRET_KEY holds no key (only commas and blanks)"]


@pytest.mark.parametrize("role", [*PROCESSES, "up", "db", "secrets"])
def test_a_malformed_number_is_the_one_problem_for_every_process(role: str) -> None:
    found = problems(role, without(ROUTINES_BODY_LIMIT="abc"))
    assert found == ["ROUTINES_BODY_LIMIT must be a whole number, got 'abc'"]


def test_the_embedded_mode_needs_no_configuration_at_all() -> None:
    assert problems("up", {}) == []


def test_reencrypting_secrets_needs_only_the_database_and_the_keys() -> None:
    env = {"DATABASE_URL": "postgresql://db/r", "ROUTINES_SECRET_KEY": "new,old"}
    assert problems("secrets", env) == []
    assert problems("secrets", {"ROUTINES_SECRET_KEY": "new"})[0].startswith("DATABASE_URL")
    assert problems("secrets", {"DATABASE_URL": "postgresql://db/r"})[0].startswith(
        "ROUTINES_SECRET_KEY is not set;"
    )


def test_a_refused_process_prints_its_first_problem_as_one_line_and_exits_2(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        exit_if_misconfigured("web", without("REDIS_URL", "ROUTINES_SECRET_KEY"))
    assert exited.value.code == 2
    err = capfd.readouterr().err
    assert err.splitlines() == [
        "routines web: REDIS_URL is not set; the distributed processes need Redis "
        "(use 'routines up' for the embedded mode)"
    ]


def test_a_well_configured_process_carries_on() -> None:
    exit_if_misconfigured("worker", DISTRIBUTED)
