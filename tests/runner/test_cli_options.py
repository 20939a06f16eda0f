"""The CI-facing options from outside (README, "In CI"): the installed ``velikey-e2e`` in a child process.

``lint --format text|json|github``, ``validate --json``, ``-q``/``-v``, ``VELIKEY_E2E_<OPTION>``
for every run option, ``--max-retries`` and shell completion.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from golden_helpers import clean_env, write_gate_copies

from velikey.testing import Fault, ReferenceServer

CLI = Path(sys.executable).parent / "velikey-e2e"
StartServer = Callable[..., ReferenceServer]
HEALTH = "id: health-only\ntitle: health\nsteps:\n  - id: health\n    call: get_health\n"
BROKEN = ("id: broken\ntitle: broken\nsteps:\n  - id: one\n    call: get_health\n    huh: 1\n"
          "  - {id: two, call: get_health, wat: 1}\n")


def velikey(*args: str | Path, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env=clean_env(**(env or {})), capture_output=True,
                          encoding="utf-8", errors="replace", timeout=120, check=False)


def scenario(folder: Path, text: str, name: str = "s.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def manifest(out: Path) -> dict[str, object]:
    data = json.loads((out / "run-manifest.json").read_text())
    assert isinstance(data, dict)
    return data


# --- lint --format ---------------------------------------------------------------------------------------


def test_lint_json_lists_every_error_with_its_fields(tmp_path: Path) -> None:
    bad = scenario(tmp_path / "sc", BROKEN)
    done = velikey("lint", bad, "--format", "json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is False and report["paths"] == [bad.as_posix()]
    assert len(report["errors"]) >= 2
    assert all(set(e) == {"file", "line", "field", "message"} for e in report["errors"])
    assert {e["line"] for e in report["errors"]} == {6, 7}
    text = velikey("lint", bad, cwd=tmp_path).stderr.splitlines()
    assert text == [f"{e['file']}:{e['line']}: {e['field']}: {e['message']}" for e in report["errors"]]


def test_lint_json_of_valid_files_is_valid(tmp_path: Path) -> None:
    good = scenario(tmp_path / "sc", HEALTH)
    done = velikey("lint", good, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"errors": [], "paths": [good.as_posix()], "valid": True}


def test_lint_github_writes_escaped_error_commands(tmp_path: Path) -> None:
    bad = scenario(tmp_path / "sc", BROKEN, name="a,b:c%.yaml")
    done = velikey("lint", bad, "--format", "github", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 2
    escaped = "sc/a%2Cb%3Ac%25.yaml"  # the name as lint shows it (relative), escaped as a property
    for line in lines:
        assert line.startswith(f"::error file={escaped},line="), line
        assert ",title=scenario_invalid::" in line
    assert velikey("lint", scenario(tmp_path / "ok", HEALTH), "--format", "github", cwd=tmp_path).returncode == 0


def test_lint_refuses_an_unknown_format(tmp_path: Path) -> None:
    done = velikey("lint", scenario(tmp_path / "sc", HEALTH), "--format", "xml", cwd=tmp_path)
    assert done.returncode == 2 and "'xml' is not one of" in done.stderr


# --- validate --json ---------------------------------------------------------------------------------------


def test_validate_json_says_valid_then_names_each_problem(tmp_path: Path) -> None:
    folder = write_gate_copies(tmp_path / "sc", 1)
    assert velikey("run", folder, "--dry-run", "--out", tmp_path / "run", cwd=tmp_path).returncode == 0
    done = velikey("validate", tmp_path / "run", "--json", cwd=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"problems": [], "run_dir": (tmp_path / "run").as_posix(), "valid": True}
    (tmp_path / "run" / "SUMMARY.md").write_text("edited\n")
    (tmp_path / "run" / "stray.txt").write_text("x")
    done = velikey("validate", tmp_path / "run", "--json", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == ""
    report = json.loads(done.stdout)
    assert report["valid"] is False
    assert any(p.startswith("SUMMARY.md: ") for p in report["problems"])
    assert any(p.startswith("stray.txt: ") for p in report["problems"])


# --- -q / -v -------------------------------------------------------------------------------------------------


def test_quiet_prints_the_verdict_line_only(tmp_path: Path, shared_server: ReferenceServer) -> None:
    done = velikey("run", scenario(tmp_path / "sc", HEALTH), "--live", "-q", "--out", tmp_path / "run",
                   cwd=tmp_path, env=shared_server.live_env())
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    assert line.startswith("result: pass  mode: live  run: run-") and line.endswith("exit: 0")


def test_verbose_prints_one_line_per_request(tmp_path: Path, start_server: StartServer) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", times=1, status=503, retry_after="0"),))
    folder = scenario(tmp_path / "sc", HEALTH + "  - id: again\n    call: get_health\n")
    done = velikey("run", folder, "--live", "--verbose", "--out", tmp_path / "run", cwd=tmp_path,
                   env=server.live_env())
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "    GET /api/healthz -> 200 (2 attempts)" in lines
    assert "    GET /api/healthz -> 200" in lines
    assert server.base_url not in done.stderr and server.session_cookie not in done.stderr
    dry = velikey("run", folder, "--dry-run", "-v", "--out", tmp_path / "dry", cwd=tmp_path)
    assert dry.stderr.splitlines().count("    GET /api/healthz -> planned") == 2, dry.stderr


def test_quiet_and_verbose_together_are_refused(tmp_path: Path) -> None:
    done = velikey("run", scenario(tmp_path / "sc", HEALTH), "--dry-run", "-q", "-v", "--out", tmp_path / "r",
                   cwd=tmp_path)
    assert done.returncode == 2 and "choose -q or -v, not both" in done.stderr
    assert not (tmp_path / "r").exists()


# --- VELIKEY_E2E_<OPTION> ----------------------------------------------------------------------------------------


def test_every_run_option_but_the_inputs_and_run_id_reads_its_env_variable() -> None:
    from runner.cli import cli

    command = cli.commands["run"]
    options = {p.name: p for p in command.params if p.param_type_name == "option" and p.name != "help"}
    # Read by preflight under their own names; VELIKEY_E2E_RUN_ID too, so the manifest says its source is `env`.
    own = {"base_url", "payload_url", "policy_id", "rollback_token", "run_id"}
    assert {name: getattr(p, "envvar", None) for name, p in options.items() if name not in own} == {
        name: "VELIKEY_E2E_" + name.upper() for name in options if name not in own}
    assert {"max_retries", "shard", "quiet", "verbose", "concurrency", "dry_run"} <= set(options)


def test_the_help_shows_the_env_variables(tmp_path: Path) -> None:
    text = " ".join(velikey("run", "--help", cwd=tmp_path).stdout.split())
    for name in ("VELIKEY_E2E_CONCURRENCY", "VELIKEY_E2E_MAX_RETRIES", "VELIKEY_E2E_CONFIRM", "VELIKEY_E2E_SHARD"):
        assert f"env var: {name}" in text


def test_flags_numbers_and_paths_come_from_the_environment(tmp_path: Path) -> None:
    folder = write_gate_copies(tmp_path / "sc", 1)
    env = {"VELIKEY_E2E_DRY_RUN": "true", "VELIKEY_E2E_CONFIRM": "1", "VELIKEY_E2E_REQUEST_TIMEOUT": "12.5",
           "VELIKEY_E2E_DEADLINE": "600", "VELIKEY_E2E_OUT": str(tmp_path / "from-env")}
    done = velikey("run", folder, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    options = manifest(tmp_path / "from-env")["options"]
    assert options == {"confirm": True, "embedded": False, "verify_tls": True, "request_timeout": "12.5",
                       "deadline": "600", "max_retries": 3}
    # A flag on the command line wins over its env variable.
    done = velikey("run", folder, "--request-timeout", "3", "--out", tmp_path / "flag", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert manifest(tmp_path / "flag")["options"]["request_timeout"] == "3"  # type: ignore[index]


@pytest.mark.parametrize(("name", "value"), [("VELIKEY_E2E_CONCURRENCY", "0"), ("VELIKEY_E2E_CONCURRENCY", "many"),
                                             ("VELIKEY_E2E_MAX_RETRIES", "-1"), ("VELIKEY_E2E_CONFIRM", "perhaps")])
def test_a_bad_env_value_is_refused_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    done = velikey("run", write_gate_copies(tmp_path / "sc", 1), "--dry-run", "--out", tmp_path / "r", cwd=tmp_path,
                   env={name: value})
    assert done.returncode == 2, done.stdout + done.stderr
    assert name in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


# --- --max-retries ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "attempts", "outcome"), [("flag", 1, "failed"), ("env", 1, "failed"),
                                                          ("default", 3, "passed")])
def test_max_retries_bounds_the_attempts(tmp_path: Path, start_server: StartServer, how: str, attempts: int,
                                         outcome: str) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", times=2, status=503, retry_after="0"),))
    flags = ["--max-retries", "0"] if how == "flag" else []
    env = {**server.live_env(), **({"VELIKEY_E2E_MAX_RETRIES": "0"} if how == "env" else {})}
    done = velikey("run", scenario(tmp_path / "sc", HEALTH), "--live", *flags, "--out", tmp_path / "run",
                   cwd=tmp_path, env=env)
    assert done.returncode == (1 if outcome == "failed" else 0), done.stdout + done.stderr
    [step] = json.loads((tmp_path / "run" / "SUMMARY.json").read_text())["scenarios"][0]["steps"]
    assert (step["outcome"], step["attempts"]) == (outcome, attempts)
    assert manifest(tmp_path / "run")["options"]["max_retries"] == (3 if how == "default" else 0)  # type: ignore[index]


def test_max_retries_out_of_range_is_refused(tmp_path: Path) -> None:
    done = velikey("run", scenario(tmp_path / "sc", HEALTH), "--dry-run", "--max-retries", "11", cwd=tmp_path)
    assert done.returncode == 2 and "--max-retries" in done.stderr


# --- shell completion ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nosort -F _velikey_e2e_completion velikey-e2e"),
                                               ("zsh", "compdef _velikey_e2e_completion velikey-e2e"),
                                               ("fish", "complete --no-files --command velikey-e2e")])
def test_completion_prints_a_script(tmp_path: Path, shell: str, marker: str) -> None:
    done = velikey(cwd=tmp_path, env={"_VELIKEY_E2E_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout


def test_completion_completes_commands_and_options(tmp_path: Path) -> None:
    def complete(words: str) -> list[str]:
        done = velikey(cwd=tmp_path, env={"_VELIKEY_E2E_COMPLETE": "bash_complete", "COMP_WORDS": words,
                                          "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))})
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert "plain,merge" in complete("velikey-e2e me")
    assert "plain,--shard" in complete("velikey-e2e run --sh")
    assert {"plain,text", "plain,json", "plain,github"} <= set(complete("velikey-e2e lint --format "))
