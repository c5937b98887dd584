"""Time zone checks: IANA names read from the tzdata package, anything else rejected."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.contract.errors import Unprocessable
from shared.schedules.cron_parse import validate_timezone
from shared.schedules.cron_walk import next_fire_after
from tests.support.cron import utc


def test_a_known_zone_is_returned_as_zoneinfo() -> None:
    zone = validate_timezone("Asia/Kolkata")
    assert isinstance(zone, ZoneInfo)
    assert zone.key == "Asia/Kolkata"
    assert utc(2026, 5, 4).astimezone(zone).utcoffset() == timedelta(hours=5, minutes=30)
    assert validate_timezone("Asia/Kolkata") is zone


@pytest.mark.parametrize(
    "name", ["UTC", "Etc/UTC", "US/Eastern", "Europe/Amsterdam", "Australia/Lord_Howe"]
)
def test_iana_zone_names_and_their_backward_links_are_accepted(name: str) -> None:
    assert validate_timezone(name).key == name


def test_a_zone_is_read_from_the_tzdata_package_not_the_hosts_zoneinfo_directory(
    tmp_path: Path,
) -> None:
    """A host whose zoneinfo says New York is UTC does not change New York for us."""
    (tmp_path / "America").mkdir()
    (tmp_path / "America" / "New_York").write_bytes(
        resources.files("tzdata").joinpath("zoneinfo", "UTC").read_bytes()
    )
    january = utc(2026, 1, 15, 12)
    validate_timezone.cache_clear()
    zoneinfo.reset_tzpath(to=[str(tmp_path)])
    ZoneInfo.clear_cache()
    try:
        assert january.astimezone(ZoneInfo("America/New_York")).utcoffset() == timedelta(0)
        zone = validate_timezone("America/New_York")
        assert january.astimezone(zone).utcoffset() == timedelta(hours=-5)
    finally:
        zoneinfo.reset_tzpath()
        ZoneInfo.clear_cache()
        validate_timezone.cache_clear()


@pytest.mark.parametrize(
    "name",
    [
        "localtime",
        "posixrules",
        "Factory",
        "right/UTC",
        "posix/UTC",
        "posix/America/New_York",
        "us/eastern",
        "Mars/Olympus",
        "",
        "../etc/passwd",
        "/etc/passwd",
        "America",
        "America/",
        "America//New_York",
        "zone.tab",
        "Europe/Amsterdam\x00",
        "Europe/Amsterdam ",
        "x" * 300,
    ],
)
def test_unknown_or_path_like_zones_are_rejected_as_invalid_timezone(name: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        validate_timezone(name)
    assert caught.value.message == f"Invalid timezone: {name}"


def test_next_fire_after_rejects_an_invalid_timezone() -> None:
    with pytest.raises(Unprocessable, match=r"^Invalid timezone: Mars/Olympus$"):
        next_fire_after("0 9 * * *", "Mars/Olympus", utc(2026, 1, 1))


def test_a_naive_datetime_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        next_fire_after("0 9 * * *", "UTC", datetime(2026, 1, 1))
