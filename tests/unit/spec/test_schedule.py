"""Cron schedules and time zones of Kubernetes batch CronJobs are checked field by field, so validate
refuses what the CronJob controller would refuse after apply."""

from __future__ import annotations

import pytest

from modeldeploy.spec.targets.kubernetes import check_cron, check_time_zone


@pytest.mark.parametrize(
    "expr", ["0 2 * * *", "*/5 * * * *", "0 0 1 JAN,jul MON-FRI", "@daily", "0 0 ? * 7", "15 1-5/2 * * *"]
)
def test_cron_accepts(expr: str) -> None:
    check_cron(expr)


@pytest.mark.parametrize(
    "expr,says",
    [
        ("61 25 * * *", "minute field '61': 61 is outside 0-59"),
        ("0 25 * * *", "hour field '25'"),
        ("* * * *", "five fields"),
        ("0 0 0 * *", "day of month"),
        ("0 0 * 13 *", "month field"),
        ("0 0 * * 8", "day of week"),
        ("*/0 * * * *", "step"),
        ("5-2 * * * *", "backwards"),
        ("x * * * *", "not a number"),
        ("? * * * *", "not a number"),
    ],
)
def test_cron_refuses(expr: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        check_cron(expr)
    assert says in str(info.value)


def test_time_zones_come_from_the_tz_database() -> None:
    for name in ("Europe/Berlin", "America/New_York", "UTC"):
        check_time_zone(name)
    for name in ("Mars/Olympus", "Europe/../etc/passwd", "", "Berlin"):
        with pytest.raises(ValueError, match="not a time zone"):
            check_time_zone(name)
