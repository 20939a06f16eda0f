"""``run --shard K/N`` and ``merge`` from outside: the installed CLI, real processes, real servers.

The promise (README, "In CI"): N shard jobs of one run, merged, are the unsharded run's set
byte for byte (every file but ``timings.json``). Live shards run as parallel processes against
one reference server; the unsharded run goes to a fresh server with the same seed on the same
port, so both see the same tenant at the same address. ``merge`` refuses anything that is not
every shard of one run, once, untampered, with one line per problem and exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
import yaml
from golden_helpers import assert_same_receipts, clean_env, read_set, write_gate_copies

from runner.shard import Shard, ShardError
from velikey.testing import ReferenceServer

CLI = Path(sys.executable).parent / "velikey-e2e"
# The steps of the release gate that read or move tenant-wide usage: shards on one tenant see each other's
# (the turnstile that orders them is per process), so the live parallel test leaves them out (README, "In CI").
METERED = ("usage-before", "probe", "telemetry-delta")
RUN_ID_ENV = {"VELIKEY_E2E_RUN_ID": "shard-merge-test"}  # pinned wherever --run-id exists
StartServer = Callable[..., ReferenceServer]


def velikey(*args: str | Path, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env=clean_env(**{**RUN_ID_ENV, **(env or {})}),
                          capture_output=True, encoding="utf-8", errors="replace", timeout=120, check=False)


def parallel(commands: Sequence[Sequence[str | Path]], cwd: Path, env: Mapping[str, str]) -> list[int]:
    """Start every command at once, then wait for all: the shards of one CI matrix."""
    procs = [subprocess.Popen([str(CLI), *map(str, c)], cwd=cwd, env=clean_env(**RUN_ID_ENV, **env),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, encoding="utf-8", errors="replace")
             for c in commands]
    codes = []
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert "Traceback" not in out, out
        codes.append(proc.returncode)
    return codes


def shard_runs(folder: Path, tmp: Path, count: int, *flags: str, env: Mapping[str, str] | None = None,
               expect: int = 0) -> list[Path]:
    outs = [tmp / f"shard-{k}" for k in range(1, count + 1)]
    for k, out in enumerate(outs, 1):
        done = velikey("run", folder, *flags, "--shard", f"{k}/{count}", "--out", out, cwd=tmp, env=env)
        assert done.returncode == expect, done.stdout + done.stderr
    return outs


def summary_ids(run_dir: Path) -> list[str]:
    return [s["id"] for s in json.loads((run_dir / "SUMMARY.json").read_text())["scenarios"]]


# --- the rule -----------------------------------------------------------------------------------------


def test_the_rule_deals_sorted_ids_round_robin_whatever_their_order() -> None:
    ids = ["e", "b", "a", "d", "c"]
    shares = [Shard(k, 3).owns(ids) for k in (1, 2, 3)]
    assert shares == [frozenset("ad"), frozenset("be"), frozenset("c")]
    assert [Shard(k, 3).owns(reversed(ids)) for k in (1, 2, 3)] == shares
    assert Shard(4, 6).owns(ids) == frozenset("d") and Shard(6, 6).owns(ids) == frozenset()


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "1/3/2", "", "-1/2", "1 / 2", "2/ 3", "1.0/2"])
def test_a_bad_shard_value_is_refused(text: str) -> None:
    with pytest.raises(ShardError):
        Shard.parse(text)


@pytest.mark.parametrize("text", ["4/3", "x"])
def test_run_refuses_a_bad_shard_before_anything_runs(tmp_path: Path, text: str) -> None:
    folder = write_gate_copies(tmp_path / "scenarios", 2)
    done = velikey("run", folder, "--live", "--base-url", "http://127.0.0.1:9", "--shard", text,
                   "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--shard" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_shard_reads_its_env_variable(tmp_path: Path) -> None:
    folder = write_gate_copies(tmp_path / "scenarios", 3)
    done = velikey("run", folder, "--dry-run", "--out", tmp_path / "out", cwd=tmp_path,
                   env={"VELIKEY_E2E_SHARD": "2/3"})
    assert done.returncode == 0, done.stderr
    assert summary_ids(tmp_path / "out") == ["gate-2"]
    manifest = json.loads((tmp_path / "out" / "run-manifest.json").read_text())
    assert manifest["shard"] == {"index": 2, "count": 3, "scenarios": ["gate-2"]}
    assert [s["id"] for s in manifest["scenarios"]] == ["gate-1", "gate-2", "gate-3"]


# --- merge equals the unsharded run ---------------------------------------------------------------------


def test_live_shards_in_parallel_on_one_server_merge_into_the_unsharded_run(
        tmp_path: Path, start_server: StartServer) -> None:
    folder = write_gate_copies(tmp_path / "scenarios", 5, without=METERED)
    server = start_server(seed=3)
    port, env = server.base_url.rsplit(":", 1)[1], server.live_env()
    outs = [tmp_path / f"shard-{k}" for k in (1, 2, 3)]
    codes = parallel([["run", folder, "--live", "--shard", f"{k}/3", "--out", out] for k, out in enumerate(outs, 1)],
                     tmp_path, env)
    assert codes == [0, 0, 0]
    assert [summary_ids(out) for out in outs] == [["gate-1", "gate-4"], ["gate-2", "gate-5"], ["gate-3"]]
    server.stop()
    merged = velikey("merge", *outs, "--out", tmp_path / "merged", cwd=tmp_path)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "merged: 3 shards" in merged.stdout

    # The unsharded run: a fresh tenant with the same seed at the same address.
    with ReferenceServer(server.config, port=int(port)) as fresh:
        assert fresh.live_env() == env
        done = velikey("run", folder, "--live", "--out", tmp_path / "whole", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_same_receipts(tmp_path / "whole", tmp_path / "merged", expected_label="unsharded", actual_label="merged")
    assert velikey("validate", tmp_path / "merged", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "merged" / "run-manifest.json").read_text())["shard"] is None


def test_junit_and_a_signature_merge_as_the_unsharded_run_writes_them(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()  # a throwaway key, made for this test only
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "gate.key").write_bytes(private_pem)
    (tmp_path / "gate.pub").write_bytes(public_pem)
    folder = write_gate_copies(tmp_path / "scenarios", 3)
    signed = ("--junit", "unsharded.xml", "--sign-key", "gate.key")
    assert velikey("run", folder, "--dry-run", "--out", tmp_path / "whole", *signed, cwd=tmp_path).returncode == 0
    outs = shard_runs(folder, tmp_path, 2, "--dry-run", "--junit", "shard.xml")
    done = velikey("merge", *outs, "--out", tmp_path / "merged", "--junit", "merged.xml", "--sign-key", "gate.key",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_same_receipts(tmp_path / "whole", tmp_path / "merged", expected_label="unsharded", actual_label="merged")
    assert (tmp_path / "merged.xml").read_bytes() == (tmp_path / "unsharded.xml").read_bytes()
    verified = velikey("verify", tmp_path / "merged", "--key", tmp_path / "gate.pub", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_merge_refuses_shards_where_only_some_wrote_junit(tmp_path: Path) -> None:
    folder = write_gate_copies(tmp_path / "scenarios", 2)
    one = velikey("run", folder, "--dry-run", "--shard", "1/2", "--junit", "j.xml", "--out", "s1", cwd=tmp_path)
    two = velikey("run", folder, "--dry-run", "--shard", "2/2", "--out", "s2", cwd=tmp_path)
    assert (one.returncode, two.returncode) == (0, 0)
    done = velikey("merge", "s1", "s2", "--out", "merged", cwd=tmp_path)
    assert done.returncode == 2 and "only some shards hold junit.xml" in done.stderr
    assert not (tmp_path / "merged").exists()


@pytest.mark.parametrize("count", [1, 5])
def test_dry_run_shards_merge_into_the_unsharded_run_even_with_empty_shards(tmp_path: Path, count: int) -> None:
    folder = write_gate_copies(tmp_path / "scenarios", 4)
    whole = velikey("run", folder, "--dry-run", "--out", tmp_path / "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    outs = shard_runs(folder, tmp_path, count, "--dry-run")
    # In reverse: merge does not care in which order the shards come.
    done = velikey("merge", *reversed(outs), "--out", tmp_path / "merged", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_same_receipts(tmp_path / "whole", tmp_path / "merged", expected_label="unsharded", actual_label="merged")


def test_blocked_shards_merge_into_the_unsharded_blocker(tmp_path: Path) -> None:
    """No session: every shard is manual-required with BLOCKER.json, and so is the merge, with the same one.

    As in CI, each job has its own workspace (a checkout) and writes the same ``--out``, so the
    rerun command in BLOCKER.json is the same in every shard, in the merge and in the unsharded run.
    """
    flags = ("--live", "--base-url", "http://127.0.0.1:9", "--policy-id", "pol-1", "--out", "gate")
    jobs = [tmp_path / name for name in ("whole", "job-1", "job-2", "merge")]
    for job in jobs[:3]:
        write_gate_copies(job / "scenarios", 3)
    whole = velikey("run", "scenarios", *flags, cwd=jobs[0])
    assert whole.returncode == 3, whole.stdout + whole.stderr
    for k, job in enumerate(jobs[1:3], 1):
        done = velikey("run", "scenarios", *flags, "--shard", f"{k}/2", cwd=job)
        assert done.returncode == 3, done.stdout + done.stderr
    jobs[3].mkdir()
    done = velikey("merge", jobs[1] / "gate", jobs[2] / "gate", "--out", "gate", cwd=jobs[3])
    assert done.returncode == 3, done.stdout + done.stderr
    assert (jobs[3] / "gate" / "BLOCKER.json").is_file()
    assert_same_receipts(jobs[0] / "gate", jobs[3] / "gate", expected_label="unsharded", actual_label="merged")


def _write(folder: Path, name: str, steps: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump({"id": name, "title": name, "steps": steps}), encoding="utf-8")


def test_a_failed_a_blocked_and_a_passed_shard_merge_into_a_failed_run(
        tmp_path: Path, shared_server: ReferenceServer) -> None:
    folder = tmp_path / "scenarios"
    _write(folder, "a-fails", [{"id": "health", "call": "get_health", "expect": [{"path": "status", "equals": "no"}]}])
    _write(folder, "b-blocked", [{"id": "apply", "call": "rollouts.apply",
                                  "with": {"plan_id": "plan-x", "dry_run": False}}])
    _write(folder, "c-passes", [{"id": "health", "call": "get_health"}])
    env = shared_server.live_env()
    whole = velikey("run", folder, "--live", "--out", tmp_path / "whole", cwd=tmp_path, env=env)
    assert whole.returncode == 1, whole.stdout + whole.stderr
    outs = [tmp_path / f"shard-{k}" for k in (1, 2, 3)]
    assert parallel([["run", folder, "--live", "--shard", f"{k}/3", "--out", out] for k, out in enumerate(outs, 1)],
                    tmp_path, env) == [1, 3, 0]
    done = velikey("merge", *outs, "--out", tmp_path / "merged", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_same_receipts(tmp_path / "whole", tmp_path / "merged", expected_label="unsharded", actual_label="merged")


# --- merge refuses ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three dry-run shards of four gate copies (no network), made once per module."""
    where = tmp_path_factory.mktemp("shards")
    shard_runs(write_gate_copies(where / "scenarios", 4), where, 3, "--dry-run")
    return where


@pytest.fixture
def shards(tmp_path: Path, made_shards: Path) -> tuple[Path, list[Path]]:
    """This test's own copy of ``made_shards``: ``(scenario folder, [shard dirs])``."""
    for name in ("scenarios", "shard-1", "shard-2", "shard-3"):
        shutil.copytree(made_shards / name, tmp_path / name)
    return tmp_path / "scenarios", [tmp_path / f"shard-{k}" for k in (1, 2, 3)]


def refused(tmp_path: Path, *dirs: Path, out: Path | None = None) -> list[str]:
    out = out or tmp_path / "merged"
    done = velikey("merge", *dirs, "--out", out, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not out.exists() or out in dirs
    return done.stderr.splitlines()


def test_merge_refuses_a_missing_shard(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    assert refused(tmp_path, shards[1][0], shards[1][2]) == ["error: missing shard 2/3"]


def test_merge_refuses_a_shard_given_twice(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    _, (one, two, three) = shards
    lines = refused(tmp_path, one, two, three, two)
    shown = two.as_posix()
    assert lines == [f"error: {shown} (shard 2/3): overlaps {shown} (shard 2/3) (the same shard twice)"]


def test_merge_refuses_shards_of_another_split(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    folder, (one, two, three) = shards
    other = velikey("run", folder, "--dry-run", "--shard", "2/2", "--out", tmp_path / "half", cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    lines = refused(tmp_path, one, two, three, tmp_path / "half")
    assert len(lines) == 1 and "is one of 2 shards" in lines[0] and "one of 3" in lines[0]


def test_merge_refuses_shards_of_different_runs(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    folder, (one, _, three) = shards
    velikey("run", folder, "--dry-run", "--shard", "2/3", "--policy-id", "pol-other", "--out", tmp_path / "x",
            cwd=tmp_path)
    lines = refused(tmp_path, one, tmp_path / "x", three)
    assert lines and all("not the run of" in line for line in lines), lines
    assert any("run-manifest.json inputs differs" in line for line in lines), lines
    velikey("run", folder, "--dry-run", "--shard", "2/3", "--out", tmp_path / "z", cwd=tmp_path,
            env={"VELIKEY_E2E_RUN_ID": "another-run"})
    lines = refused(tmp_path, one, tmp_path / "z", three)
    assert any("run_id differs" in line for line in lines) and any("run_nonce differs" in line for line in lines)
    velikey("run", folder, "--dry-run", "--shard", "3/3", "--max-retries", "0", "--out", tmp_path / "y", cwd=tmp_path)
    lines = refused(tmp_path, one, shards[1][1], tmp_path / "y")
    assert any("run-manifest.json options differs" in line for line in lines), lines


def test_merge_refuses_shards_of_other_scenario_files(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    _, (one, two, _) = shards
    folder = write_gate_copies(tmp_path / "more", 5)
    assert velikey("run", folder, "--dry-run", "--shard", "3/3", "--out", tmp_path / "x", cwd=tmp_path).returncode == 0
    lines = refused(tmp_path, one, two, tmp_path / "x")
    assert any("run-manifest.json scenarios differs" in line for line in lines), lines


def test_merge_refuses_a_tampered_shard(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    _, (one, two, three) = shards
    summary = two / "SUMMARY.json"
    summary.write_bytes(summary.read_bytes().replace(b'"planned"', b'"passed"', 1))
    lines = refused(tmp_path, one, two, three)
    assert lines and all(line.startswith(f"error: {two.as_posix()}: invalid: ") for line in lines), lines


def test_merge_refuses_a_shard_whose_list_was_edited_consistently(tmp_path: Path,
                                                                   shards: tuple[Path, list[Path]]) -> None:
    """Claiming another share (digests recomputed) is caught by the meaning checks, not only by digests."""
    from runner.canonical import dumps, sha256_tag

    _, (one, two, three) = shards
    manifest = json.loads((two / "run-manifest.json").read_text())
    manifest["shard"]["scenarios"] = ["gate-1", "gate-2"]
    (two / "run-manifest.json").write_bytes(dumps(manifest))
    result = json.loads((two / "python-sdk-e2e-result.json").read_text())
    result["files"]["run-manifest.json"] = sha256_tag(dumps(manifest))
    (two / "python-sdk-e2e-result.json").write_bytes(dumps(result))
    lines = refused(tmp_path, one, two, three)
    assert any("shard 2/3 does not list the scenarios that shard runs" in line for line in lines), lines


def test_merge_refuses_an_unsharded_set_and_a_non_set(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    folder, (one, two, three) = shards
    assert velikey("run", folder, "--dry-run", "--out", tmp_path / "whole", cwd=tmp_path).returncode == 0
    (tmp_path / "empty").mkdir()
    lines = refused(tmp_path, one, two, three, tmp_path / "whole", tmp_path / "empty")
    assert f"error: {(tmp_path / 'whole').as_posix()}: not a shard" in "\n".join(lines)
    assert any(line.startswith(f"error: {(tmp_path / 'empty').as_posix()}: invalid: ") for line in lines)


def test_merge_refuses_to_write_over_a_shard(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    _, outs = shards
    before = read_set(outs[0])
    lines = refused(tmp_path, *outs, out=outs[0])
    assert len(lines) == 1 and "is one of the shards" in lines[0]
    assert read_set(outs[0]) == before


def test_merge_refuses_an_out_dir_it_did_not_write(tmp_path: Path, shards: tuple[Path, list[Path]]) -> None:
    _, outs = shards
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    done = velikey("merge", *outs, "--out", tmp_path / "mine", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
