"""``until:``, ``cleanup:`` and zero-including metering windows from outside: the installed CLI against a real server.

Each test starts a fresh reference server (``start_server``), runs ``velikey-e2e`` as a user
would, and reads both the receipts and the server's own record (``/__ref/state``) of what was
applied and rolled back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from velikey.testing import ReferenceServer

StartServer = Callable[..., ReferenceServer]
CLI = Path(sys.executable).with_name("velikey-e2e")
REPO = Path(__file__).resolve().parents[2]

CANARY = """\
id: {id}
title: Canary
needs: [session, policy_id]
steps:
  - id: plan
    call: rollouts.plan
    with: {{policy_id: "${{inputs.policy_id}}", canary_percent: {percent}, dry_run: false}}
    save: {{plan_id: data.plan_id}}
  - id: apply
    call: rollouts.apply
    with: {{plan_id: "${{steps.plan.plan_id}}", dry_run: false}}
    save: {{rollback_token: data.rollbackToken}}
  - id: wait
    call: rollouts.get_events
    with: {{plan_id: "${{steps.plan.plan_id}}"}}
    until: {{every_s: {every}, within_s: {within}}}
    expect:
      - {{path: phase, equals: {phase}}}
cleanup:
  - id: rollback
    call: rollouts.rollback
    with: {{rollback_token: "${{steps.apply.rollback_token}}", confirm: true}}
    expect:
      - {{path: data.rolledBack, equals: true}}
"""


def _env(server: ReferenceServer | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AXIS_", "AEGIS_", "SDK_E2E_", "VELIKEY_"))}
    return env | (server.live_env() if server else {})


def _cli(args: Sequence[str | Path], *, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def _summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "SUMMARY.json").read_text(encoding="utf-8"))
    return data


def _scenario(summary: dict[str, Any], scenario_id: str) -> dict[str, Any]:
    return next(s for s in summary["scenarios"] if s["id"] == scenario_id)


def _outcomes(steps: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {s["id"]: (s["outcome"], s["reason_code"]) for s in steps}


def _effects(server: ReferenceServer) -> dict[str, int]:
    effects = server.state()["effects"]
    return {kind: len(effects.get(kind, {})) for kind in ("apply", "rollback")}


def _event_reads(server: ReferenceServer) -> int:
    return sum(n for route, n in server.state()["requests"].items() if route.endswith("/events"))


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _valid(out: Path) -> None:
    done = _cli(["validate", out], env=_env())
    assert done.returncode == 0, done.stderr


def test_demo_confirms_and_runs_both_shipped_scenarios(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = _cli(["demo", "--out", out], env=_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _summary(out)
    assert [s["id"] for s in summary["scenarios"]] == ["canary-rollout", "release-gate"]
    assert {s["outcome"] for s in summary["scenarios"]} == {"passed"}
    canary = _scenario(summary, "canary-rollout")
    assert _outcomes(canary["cleanup"]) == {"rollback": ("passed", "ok")}
    wait = next(s for s in canary["steps"] if s["until"] is not None)
    assert wait["until"] == {"every_s": "2", "within_s": "60", "max_polls": 31, "polls": 1}
    manifest = json.loads((out / "run-manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["confirm"] is True
    _valid(out)


def test_the_shipped_scenarios_leave_one_apply_and_one_rollback(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    done = _cli(["run", "scenarios", "--live", "--confirm", "--out", out], env=_env(server))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _effects(server) == {"apply": 1, "rollback": 1}
    assert server.state()["unkeyed"] == {"apply": 0, "rollback": 0}
    canary = _scenario(_summary(out), "canary-rollout")
    assert canary["steps"][1]["saved"] == {"rollback_token": "[REDACTED]"}
    receipts = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.json")) + (out / "SUMMARY.md").read_text()
    assert "rbk-" not in receipts, "the rollback token the apply handed out never reaches a receipt"
    evidence = json.loads((out / "evidence" / "canary-rollout" / "canary-stable.json").read_text(encoding="utf-8"))
    assert evidence["polls"] == 1 and "event: phase" in evidence["exchanges"][-1]["body"]
    assert "until: 1 of 31 polls, every 2 s" in (out / "SUMMARY.md").read_text(encoding="utf-8")


def test_running_out_of_polls_is_poll_timeout_and_cleanup_still_rolls_back(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    folder = _write(tmp_path / "s", "canary.yaml", CANARY.format(id="never", percent=11, every="0.1", within="0.3",
                                                                  phase="promoted"))
    out = tmp_path / "run"
    done = _cli(["run", folder, "--live", "--confirm", "--out", out], env=_env(server))
    assert done.returncode == 1, done.stdout + done.stderr
    summary = _summary(out)
    scenario = _scenario(summary, "never")
    assert _outcomes(scenario["steps"])["wait"] == ("failed", "poll_timeout")
    wait = scenario["steps"][2]
    assert wait["until"] == {"every_s": "0.1", "within_s": "0.3", "max_polls": 4, "polls": 4}
    assert _event_reads(server) == 4, "exactly the budget, counted not clocked"
    assert wait["assertions"][0]["actual"] == "stable", "the last answer is the evidence"
    assert _outcomes(scenario["cleanup"]) == {"rollback": ("passed", "ok")}
    assert _effects(server) == {"apply": 1, "rollback": 1}
    assert summary["counts"] == {"passed": 3, "failed": 1, "blocked": 0, "skipped": 0, "planned": 0}
    assert "poll_timeout" in summary["reason_codes"] and summary["result"] == "fail"
    assert "Cleanup" in (out / "SUMMARY.md").read_text(encoding="utf-8")
    _valid(out)


def test_without_confirm_nothing_is_applied_and_cleanup_has_nothing_to_undo(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    out = tmp_path / "run"
    done = _cli(["run", "scenarios/canary-rollout.yaml", "--live", "--out", out], env=_env(server))
    assert done.returncode == 3, done.stdout + done.stderr
    scenario = _scenario(_summary(out), "canary-rollout")
    assert _outcomes(scenario["steps"])["apply"] == ("blocked", "confirmation_required")
    assert _outcomes(scenario["cleanup"]) == {"rollback": ("skipped", "input_not_provided")}
    assert _effects(server) == {"apply": 0, "rollback": 0}
    assert "POST /api/rollouts/rollback" not in server.state()["requests"]
    _valid(out)


def test_ctrl_c_while_polling_still_rolls_back(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    folder = _write(tmp_path / "s", "canary.yaml", CANARY.format(id="slow", percent=12, every="0.5", within="300",
                                                                  phase="promoted"))
    out = tmp_path / "run"
    process = subprocess.Popen([str(CLI), "run", str(folder), "--live", "--confirm", "--out", str(out)],
                               cwd=REPO, env=_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        waited = time.monotonic() + 60
        while _event_reads(server) < 2:
            assert process.poll() is None and time.monotonic() < waited, "the run never reached its polling"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stdout + stderr
    scenario = _scenario(_summary(out), "slow")
    assert _outcomes(scenario["steps"])["wait"] == ("failed", "interrupted")
    assert _outcomes(scenario["cleanup"]) == {"rollback": ("passed", "ok")}
    assert _effects(server) == {"apply": 1, "rollback": 1}
    _valid(out)


def test_the_deadline_while_polling_still_rolls_back(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    folder = _write(tmp_path / "s", "canary.yaml", CANARY.format(id="late", percent=13, every="0.5", within="300",
                                                                  phase="promoted"))
    out = tmp_path / "run"
    done = _cli(["run", folder, "--live", "--confirm", "--deadline", "5", "--out", out], env=_env(server))
    scenario = _scenario(_summary(out), "late")
    assert _outcomes(scenario["steps"])["wait"] == ("failed", "timeout"), done.stdout + done.stderr
    assert _outcomes(scenario["cleanup"]) == {"rollback": ("passed", "ok")}
    assert _effects(server) == {"apply": 1, "rollback": 1}
    _valid(out)


def test_a_dry_run_plans_the_until_policy_and_the_cleanup(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    done = _cli(["run", "scenarios", "--dry-run", "--out", out], env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    canary = _scenario(_summary(out), "canary-rollout")
    wait = canary["steps"][2]
    assert (wait["outcome"], wait["until"]) == ("planned", {"every_s": "2", "within_s": "60", "max_polls": 31,
                                                            "polls": None})
    assert "until its expect holds, every 2 s, at most 31 polls" in wait["message"]
    (rollback,) = canary["cleanup"]
    assert rollback["outcome"] == "planned" and "${steps.apply.rollback_token}" not in json.dumps(rollback["request"])
    assert "a live run needs --confirm" in rollback["message"]


def test_poll_counts_do_not_depend_on_concurrency(start_server: StartServer, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    for n in range(3):
        _write(folder, f"c{n}.yaml", CANARY.format(id=f"c{n}", percent=20 + n, every="0.1", within="0.2",
                                                   phase="promoted" if n == 1 else "stable"))
    seen = []
    for concurrency in (1, 3):
        server = start_server()  # a fresh tenant each time: the same effects to make
        out = tmp_path / f"run-{concurrency}"
        _cli(["run", folder, "--live", "--confirm", "--concurrency", concurrency, "--out", out], env=_env(server))
        # The servers listen on other ports, so run ids differ; what each step saw must not.
        seen.append([(sc["id"], [(s["id"], s["outcome"], s["reason_code"], s["until"], s["assertions"])
                                 for s in sc["steps"] + sc["cleanup"]]) for sc in _summary(out)["scenarios"]])
    assert seen[0] == seen[1]
    polls = [s[3]["polls"] for _, steps in seen[0] for s in steps if s[3]]
    assert polls == [1, 3, 1]

METERED = """\
id: metered
title: Metered
needs: [session, payload_url]
steps:
  - id: before
    call: billing.get_usage
  - id: probe
    probe: {{payload: {{size: 65536, seed: 3}}}}
  - id: delta
    metering: {{before: before, path: usage.telemetryDataGB, expect: {expect}, settle_s: 10}}
"""


def test_a_range_with_zero_does_not_pass_before_the_probe_bytes_show(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(metering_lag_s=0.5)
    folder = _write(tmp_path / "s", "m.yaml", METERED.format(expect="{max: '1e-8'}"))
    out = tmp_path / "run"
    done = _cli(["run", folder, "--live", "--out", out], env=_env(server))
    assert done.returncode == 1, done.stdout + done.stderr
    step = _scenario(_summary(out), "metered")["steps"][2]
    assert (step["outcome"], step["reason_code"]) == ("failed", "metering_delta_mismatch")
    assert step["metering"]["delta"] == "0.00006103515625"
    _valid(out)


def test_a_range_with_zero_is_judged_with_the_bytes_in(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(metering_lag_s=0.5)
    folder = _write(tmp_path / "s", "m.yaml", METERED.format(expect="{min: 0, max: '0.001'}"))
    out = tmp_path / "run"
    done = _cli(["run", folder, "--live", "--out", out], env=_env(server))
    assert done.returncode == 0, done.stdout + done.stderr
    step = _scenario(_summary(out), "metered")["steps"][2]
    assert step["outcome"] == "passed" and step["metering"]["delta"] == "0.00006103515625"
