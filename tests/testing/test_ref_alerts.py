"""``ServerConfig.critical_alerts`` / ``serve --critical-alerts``: open critical alerts that lower the health score."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from ref_helpers import API_KEY, BEARER, client_for

from velikey import AegisClientSync
from velikey.testing import ReferenceServer, ServerConfig, serve_command


@pytest.mark.parametrize(("count", "score"), [(0, 100), (1, 85), (2, 70), (3, 55), (5, 55)])
def test_each_critical_alert_costs_15_points_at_most_45(
    start_server: Callable[..., ReferenceServer], count: int, score: int
) -> None:
    server = start_server(critical_alerts=count)
    with client_for(server, headers=BEARER) as http:
        body = http.get("/api/alerts", params={"resolved": "false", "limit": "100"}).json()
    assert [a["severity"] for a in body["alerts"]].count("critical") == count
    assert body["total"] == count + 2 and not any(a["resolved"] for a in body["alerts"])
    assert len({a["id"] for a in body["alerts"]}) == len(body["alerts"])
    with AegisClientSync(api_key=API_KEY, base_url=server.base_url, env={}) as client:
        health = client.monitoring.get_health_score()
    assert (health.overall_score, health.critical_alerts) == (score, count)


def test_critical_alerts_come_first_and_are_seeded(start_server: Callable[..., ReferenceServer]) -> None:
    first, second = start_server(critical_alerts=2), start_server(critical_alerts=2)
    with client_for(first, headers=BEARER) as a, client_for(second, headers=BEARER) as b:
        limited = a.get("/api/alerts", params={"resolved": "false", "limit": "2"}).json()
        assert limited == b.get("/api/alerts", params={"resolved": "false", "limit": "2"}).json()
    assert [x["severity"] for x in limited["alerts"]] == ["critical", "critical"]


@pytest.mark.parametrize("bad", [-1, 1001, True, 1.0, "3"])
def test_config_refuses_a_bad_count(bad: object) -> None:
    with pytest.raises(ValueError, match="critical_alerts"):
        ServerConfig(critical_alerts=bad)  # type: ignore[arg-type]


def test_serve_option_is_documented_and_bounded() -> None:
    runner = CliRunner()
    help_text = " ".join(runner.invoke(serve_command, ["--help"]).output.split())
    assert "--critical-alerts" in help_text and "health score" in help_text
    result = runner.invoke(serve_command, ["--critical-alerts", "-1"])
    assert result.exit_code == 2 and "--critical-alerts" in result.output
