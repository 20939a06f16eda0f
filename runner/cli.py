"""The velikey-e2e command line: parse flags into a frozen config, call the pipeline, map to an exit code.

No logic lives here beyond presentation; bad input ends with one clear message and exit 2.
Each command imports what it uses in its body, so start-up loads only click: the reference
server (FastAPI, uvicorn) is imported only by the commands that serve it, the pipeline only by
the commands that run, and even json, pathlib and dataclasses only when a command uses them
(``--help``, ``--version`` and ``reasons`` need none; tests/runner/test_cli_imports.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from runner import __version__, exits, heap
from runner.control import DEFAULT_LIVE_DEADLINE_S, exit_interrupted

if TYPE_CHECKING:
    from pathlib import Path

    from runner.config import RunConfig
    from runner.engine.results import StepResult
    from runner.pipeline import RunReport

__all__ = ["cli", "main"]


def _default_paths() -> tuple[Path, ...]:
    """``scenarios/`` of the working directory, else the release gate the package ships."""
    from pathlib import Path

    from runner._resources import scenarios_dir

    here = Path("scenarios")
    return (here if here.is_dir() else scenarios_dir(),)


class _Path(click.Path["Path"]):
    """``click.Path`` whose values are ``pathlib.Path``: pathlib is imported when a path is given, not at start-up."""

    def coerce_path_result(self, value: str | os.PathLike[str]) -> Path:
        from pathlib import Path

        return Path(value)


def _verdict(report: RunReport) -> str:
    summary = report.summary
    lines = [
        f"result: {summary['result']}  mode: {summary['mode']}  run: {summary['run_id']}  exit: {report.exit_code}",
        f"receipts: {report.out_dir}",
        "",
        f"{'scenario':<28} {'outcome':<9} {'reason':<28} steps",
    ]
    for scenario in summary["scenarios"]:
        tally: dict[str, int] = {}
        for step in [*scenario["steps"], *scenario.get("cleanup", ())]:
            tally[step["outcome"]] = tally.get(step["outcome"], 0) + 1
        steps = ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
        lines.append(f"{scenario['id']:<28} {scenario['outcome']:<9} {scenario['reason_code']:<28} {steps}")
        told: set[tuple[str, str]] = set()
        for step in [*scenario["steps"], *scenario.get("cleanup", ())]:
            said = (step["reason_code"], step["message"])
            if step["outcome"] in ("failed", "blocked") and said not in told:
                told.add(said)
                lines.append(f"  - {step['id']}: {step['reason_code']}: {step['message']}")
    if report.blocker:
        lines += ["", "manual action required (BLOCKER.json):"]
        lines += [f"  - {m['name']}: {m['how']}" for m in report.blocker["missing_inputs"]]
        lines += [f"  - {g}" for g in report.blocker["guidance"]]
        lines.append(f"  then rerun: {report.blocker['rerun']}")
    return "\n".join(lines)


def _progress(scenario: str, step: StepResult) -> None:
    click.echo(f"  {scenario}/{step.id}: {step.outcome} ({step.reason_code})", err=True)


def _ci_output(report: RunReport) -> None:
    """In GitHub Actions: an ``::error`` annotation per failed or blocked step, SUMMARY.md in the job summary."""
    from pathlib import Path

    from runner.report.github import annotations, append_step_summary

    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in annotations(report.summary):
            click.echo(line)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            append_step_summary(Path(step_summary), (report.out_dir / "SUMMARY.md").read_text(encoding="utf-8"))
        except OSError as exc:  # the receipts are written; a CI convenience failing must not change the verdict
            click.echo(f"warning: GITHUB_STEP_SUMMARY: cannot append SUMMARY.md: {exc.strerror or exc}", err=True)


def _signing_key(path: Path | None) -> bytes | None:
    """``--sign-key``'s PEM, checked to be an Ed25519 private key before anything runs (else exit 2)."""
    if path is None:
        return None
    from runner.attest.dsse import KeyFormatError, private_key

    try:
        pem = path.read_bytes()
        private_key(pem)
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror or exc}", param_hint="--sign-key") from None
    except KeyFormatError as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--sign-key") from None
    return pem


def _junit_target(path: Path | None) -> Path | None:
    """``--junit``'s file, refused before anything runs when a folder on its way is a file (else exit 2)."""
    for folder in [] if path is None else [path.parent, *path.parent.parents]:
        if folder.exists():
            if not folder.is_dir():
                raise click.BadParameter(f"{path}: {folder} is not a directory", param_hint="--junit")
            break
    return path


def _execute(config: RunConfig, verbosity: int = 0) -> None:
    """Run and exit with the run's code; ``verbosity`` -1 prints the verdict line only, 1 each request too."""
    # Imported here: the pipeline loads the SDK, the engine and the receipts (jsonschema), which
    # ``--help``, ``--version`` and ``reasons`` do not need (tests/runner/test_cli_imports.py).
    from dataclasses import replace

    from runner.config import InputError, ReceiptsNotWritten

    with heap.long_lived():
        from runner.pipeline import run

    progress = {-1: None, 0: _progress, 1: _verbose_progress}[verbosity]
    try:
        report = run(replace(config, progress=progress))
    except InputError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(exits.INVALID)
    except ReceiptsNotWritten as exc:
        click.echo(f"error: the receipts could not be written: {exc}", err=True)
        sys.exit(exits.NOT_WRITTEN)
    except KeyboardInterrupt:
        exit_interrupted()
    _ci_output(report)
    verdict = _verdict(report)
    click.echo(verdict.split("\n", 1)[0] if verbosity < 0 else verdict)
    sys.exit(report.exit_code)


# --- cli10 (issue 10.5/10.6): -q/-v, VELIKEY_E2E_<OPTION>, --shard, merge -----------------------------


def _verbose_progress(scenario: str, step: StepResult) -> None:
    """``-v``: the step line, then one line per request: method, path (no query: it may carry input values), answer."""
    from runner.reasons import reason_for_error

    _progress(scenario, step)
    sent = [(e.request.request, e.exchange.status if e.exchange else None,
             reason_for_error(e.error) if e.error and not e.exchange else None, e.attempts) for e in step.exchanges]
    shown = sent or [(r.request, None, step.outcome, 0) for r in step.requests]
    for request, status, other, attempts in shown:
        path = request.url.split("?", 1)[0].split("#", 1)[0]
        path = "/" + path.split("://", 1)[-1].partition("/")[2]
        answer = str(status) if status is not None else str(other)
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        click.echo(f"    {request.method} {path} -> {answer}{tries}", err=True)


_QUIET = click.option("-q", "--quiet", is_flag=True, help="Print the verdict line only (no progress, no table).")
_VERBOSE = click.option("-v", "--verbose", is_flag=True, help="Also print one line per request as each step ends.")


def _verbosity(quiet: bool, verbose: bool) -> int:
    if quiet and verbose:
        raise click.UsageError("choose -q or -v, not both")
    return -1 if quiet else 1 if verbose else 0


# The domain inputs keep their one documented env name each (AXIS_BASE_URL …, see the README's inputs table), and
# --run-id its VELIKEY_E2E_RUN_ID read by preflight, so the manifest can say where a value came from; every other
# option of `run` also reads VELIKEY_E2E_<OPTION>.
_OWN_ENV = ("base_url", "payload_url", "policy_id", "rollback_token", "run_id")
ENV_PREFIX = "VELIKEY_E2E_"


def _env_options(command: click.Command) -> click.Command:
    """Give each option of ``command`` (but the domain inputs and help) the env var ``VELIKEY_E2E_<OPTION>``."""
    for param in command.params:
        if isinstance(param, click.Option) and param.name and param.name not in _OWN_ENV and not param.envvar:
            param.envvar = ENV_PREFIX + param.name.upper()
            param.show_envvar = True
    return command


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from runner.shard import Shard, ShardError

    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ShardError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


_HELP = f"""Deterministic end-to-end evidence runner for VeliKey Axis + Aegis.

    Runs declarative release-gate scenarios through the Python SDK against an Axis tenant
    (or the bundled reference server) and writes receipts a reviewer can audit and a CI
    gate can verify. Start with `velikey-e2e demo`, then `velikey-e2e run --dry-run`.

    Exit codes: {exits.SUMMARY}.
    """


@click.group(help=_HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="velikey-e2e")
def cli() -> None:
    """The command group; its help is ``_HELP``, which states the exit codes from ``runner.exits``."""


@cli.command("run")
@click.argument("paths", nargs=-1, type=_Path())
@click.option("--dry-run", "dry_run", is_flag=True,
              help="Render every request; open no socket, need no credentials.")
@click.option("--live", "live", is_flag=True,
              help="Send the requests (preflight first: missing inputs block, exit 3).")
@click.option("--out", type=_Path(file_okay=False),
              help="Run directory to write (default: receipts/<mode>-<run_id>/).")
@click.option("--embedded", is_flag=True,
              help="Start the reference server for the run and take base URL, session, policy and payload URL from it.")
@click.option("--base-url", help="Axis tenant base URL [env AXIS_BASE_URL; default https://axis.velikey.com].")
@click.option("--payload-url", help="Hash-echo ingest endpoint for probes [env SDK_E2E_PAYLOAD_URL].")
@click.option("--policy-id", help="Aegis policy to plan rollouts for [env AEGIS_POLICY_ID].")
@click.option("--rollback-token", help="Token for the rollback step [env AEGIS_ROLLBACK_TOKEN; prefer the env].")
@click.option("--confirm", is_flag=True, help="Allow non-dry-run applies and rollbacks (otherwise they are blocked).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Scenarios run side by side; receipts do not depend on it.")
@click.option("--request-timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True,
              help="Seconds each request may take (per attempt).")
@click.option("--deadline", type=click.FloatRange(0.1, 86400),
              help=f"Seconds the whole run may take from start-up, auth included; then `timeout` "
                   f"[default with --live: {DEFAULT_LIVE_DEADLINE_S:g}].")
@click.option("--insecure-skip-tls-verify", is_flag=True,
              help="Turn TLS verification off (controlled diagnostics only; warned and recorded in the manifest).")
@click.option("--allow-insecure-http", is_flag=True,
              help="Allow http:// to a host that is not loopback (the session travels in clear; recorded).")
@click.option("--ca-bundle", type=_Path(dir_okay=False),
              help="PEM file of the CAs that verify TLS [else SSL_CERT_FILE, REQUESTS_CA_BUNDLE, the default].")
@click.option("--run-id", help="Name the run (the run id, verbatim) and derive its keys from it; the same id "
              "again replays [env VELIKEY_E2E_RUN_ID; default: the CI's run, else fresh].")
@click.option("--max-retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Retries of a retryable request (429, 5xx, network) before its step fails.")
@click.option("--shard", metavar="K/N", callback=_parse_shard,
              help="Run shard K of N (scenario ids sorted, dealt round robin); join the shards with `merge`.")
@click.option("--junit", type=_Path(dir_okay=False),
              help="Also write junit.xml (a receipt in the run directory) and copy it to this file.")
@click.option("--sign-key", type=_Path(dir_okay=False, exists=True),
              help="Ed25519 private key (PEM) that signs attestation.json into attestation.dsse.json.")
@_QUIET
@_VERBOSE
def run_command(paths: tuple[Path, ...], dry_run: bool, live: bool, out: Path | None, embedded: bool,
                base_url: str | None, payload_url: str | None, policy_id: str | None, rollback_token: str | None,
                confirm: bool, concurrency: int, request_timeout: float, deadline: float | None,
                insecure_skip_tls_verify: bool, allow_insecure_http: bool, ca_bundle: Path | None,
                run_id: str | None, max_retries: int, shard: Any, junit: Path | None, sign_key: Path | None,
                quiet: bool, verbose: bool) -> None:
    """Run scenarios (PATHS: files or folders, default scenarios/) and write receipts.

    \b
    Examples:
      velikey-e2e run --dry-run                      # what would be sent, no network
      velikey-e2e run --live --embedded              # against the bundled reference server
      AXIS_SESSION_COOKIE_FILE=state.json AEGIS_POLICY_ID=pol-1 \\
      SDK_E2E_PAYLOAD_URL=https://ingest.example/ingest velikey-e2e run --live
      velikey-e2e run --live --shard 2/3 --out shard-2   # one CI job of three; then merge

    Every option also reads VELIKEY_E2E_<OPTION> (e.g. VELIKEY_E2E_CONCURRENCY=8), but the
    domain inputs, which read their own env names (shown with each).
    """
    verbosity = _verbosity(quiet, verbose)
    if dry_run == live:
        # Both would be worse than neither: a gate asked to go live must never quietly only plan.
        raise click.UsageError("choose --dry-run or --live" + (", not both" if live else ""))
    mode = "live" if live else "dry-run"
    flags = {"base_url": base_url, "payload_url": payload_url, "policy_id": policy_id,
             "rollback_token": rollback_token}
    if insecure_skip_tls_verify:
        click.echo("warning: TLS verification is off (--insecure-skip-tls-verify): any server can answer for the "
                   "tenant; recorded in run-manifest.json", err=True)
    from runner.config import RunConfig

    _execute(RunConfig(
        paths=paths or _default_paths(), mode=mode, flags=flags, out=out, embedded=embedded, confirm=confirm,
        concurrency=concurrency, request_timeout=request_timeout, deadline=deadline,
        verify_tls=not insecure_skip_tls_verify, allow_insecure_http=allow_insecure_http, ca_bundle=ca_bundle,
        env=dict(os.environ), run_id=run_id, max_retries=max_retries, shard=shard,
        junit=_junit_target(junit), sign_key=_signing_key(sign_key),
    ), verbosity)


_env_options(run_command)


@cli.command("demo")
@click.option("--out", type=_Path(file_okay=False), default="receipts/demo",
              show_default=True, help="Run directory to write.")
@_QUIET
@_VERBOSE
def demo_command(out: Path, quiet: bool, verbose: bool) -> None:
    """The main job: a confirmed live run of scenarios/ against the embedded reference server.

    ``--confirm`` is implied: the embedded server is started for this run and thrown away after it,
    so the canary scenario's real apply (rolled back by its cleanup) changes nothing that lasts.
    """
    from runner.config import RunConfig

    _execute(RunConfig(paths=_default_paths(), mode="live", out=out, embedded=True, env={}, confirm=True),
             _verbosity(quiet, verbose))


@cli.command("merge")
@click.argument("run_dirs", nargs=-1, required=True,
                type=_Path(file_okay=False, exists=True))
@click.option("--out", required=True, type=_Path(file_okay=False),
              help="Run directory to write the merged set to (new, empty, or an earlier set).")
@click.option("--junit", type=_Path(dir_okay=False),
              help="Copy the merged junit.xml here too (the shards must have run with --junit).")
@click.option("--sign-key", type=_Path(dir_okay=False, exists=True),
              help="Ed25519 private key (PEM) that signs the merged attestation.json.")
def merge_command(run_dirs: tuple[Path, ...], out: Path, junit: Path | None, sign_key: Path | None) -> None:
    """Join the run directories of `run --shard K/N` (all N, one run) into the set the unsharded run writes.

    Each input is validated first; shards of different runs, a shard twice or a missing shard
    are refused (exit 2, one line per problem). Exits with the merged run's code, as `run` does.
    """
    import json
    from pathlib import Path

    from runner.evidence.rerun import shown_path
    from runner.merge import MergeError, merge_shards
    from runner.receipts.outdir import ReceiptWriteError, check_out_dir
    from runner.receipts.write import write_receipt_set
    from runner.report.junit import JUNIT_FILE, copy_junit

    target = Path(os.path.abspath(out))
    if any(target == Path(os.path.abspath(d)) or Path(os.path.abspath(d)) in target.parents for d in run_dirs):
        click.echo(f"error: --out {out} is one of the shards (or inside one); choose another directory", err=True)
        sys.exit(exits.INVALID)
    if problem := check_out_dir(out):  # the rules of `run --out`: never over a folder this tool did not write
        click.echo(f"error: {problem}", err=True)
        sys.exit(exits.INVALID)
    try:
        files = merge_shards(run_dirs, shown_path(out), _signing_key(sign_key))
        if junit is not None and JUNIT_FILE not in files:
            raise MergeError([f"--junit: the shards hold no {JUNIT_FILE} (run them with --junit)"])
        write_receipt_set(out, files)
        if junit is not None:
            copy_junit(files[JUNIT_FILE], junit)
    except MergeError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(exits.INVALID)
    except ReceiptWriteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exits.INVALID)
    result = json.loads(files["python-sdk-e2e-result.json"])
    click.echo(f"result: {result['result']}  mode: {result['mode']}  run: {result['run_id']}"
               f"  exit: {result['exit_code']}  merged: {len(run_dirs)} shards")
    click.echo(f"receipts: {out}")
    sys.exit(result["exit_code"])


@cli.command("validate")
@click.argument("run_dir", type=_Path(file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True,
              help='Print {"run_dir", "valid", "problems": [...]} as JSON on stdout instead of text.')
def validate_command(run_dir: Path, as_json: bool) -> None:
    """Re-validate every receipt in RUN_DIR against schemas/ and re-check every digest (exit 1 on any problem)."""
    import json

    from runner.receipts.validate import validate_run_dir

    problems = validate_run_dir(run_dir)
    if as_json:
        click.echo(json.dumps({"run_dir": run_dir.as_posix(), "valid": not problems, "problems": problems},
                              indent=2, sort_keys=True, ensure_ascii=False))
        sys.exit(1 if problems else 0)
    for problem in problems:
        click.echo(f"invalid: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"valid: {run_dir}")


@cli.command("verify")
@click.argument("run_dir", type=_Path(file_okay=False, exists=True))
@click.option("--key", "key", type=_Path(dir_okay=False, exists=True),
              help="Ed25519 public key (PEM): attestation.dsse.json must be signed by it.")
def verify_command(run_dir: Path, key: Path | None) -> None:
    """Validate RUN_DIR and check its attestation (and with --key its signature), offline (exit 1 on any problem)."""
    from runner.attest.dsse import KeyFormatError
    from runner.attest.verify import verify_run_dir

    try:
        problems = verify_run_dir(run_dir, key.read_bytes() if key is not None else None)
    except OSError as exc:
        raise click.BadParameter(f"{key}: {exc.strerror or exc}", param_hint="--key") from None
    except KeyFormatError as exc:
        raise click.BadParameter(f"{key}: {exc}", param_hint="--key") from None
    for problem in problems:
        click.echo(f"invalid: {problem}", err=True)
    if problems:
        sys.exit(exits.FAIL)
    if key is not None:
        signed = "signed by the given key"
    elif (run_dir / "attestation.dsse.json").exists():
        signed = "signature not checked: no --key given"
    else:
        signed = "unsigned"
    click.echo(f"verified: {run_dir}; {signed}")


@cli.command("lint")
@click.argument("paths", nargs=-1, type=_Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text: file:line: field: message on stderr; json: one document on stdout;"
                   " github: ::error workflow commands on stdout.")
def lint_command(paths: tuple[Path, ...], fmt: str) -> None:
    """Check scenario files (default scenarios/); each error as file:line: field: message (exit 2)."""
    import json

    from runner.scenario.lint import lint_errors

    chosen = list(paths or _default_paths())
    errors = lint_errors(chosen)
    if fmt == "json":
        click.echo(json.dumps({
            "paths": [p.as_posix() for p in chosen], "valid": not errors,
            "errors": [{"file": e.file, "line": e.line, "field": e.field, "message": e.message} for e in errors],
        }, indent=2, sort_keys=True, ensure_ascii=False))
    elif fmt == "github":
        from runner.report.github import lint_annotations

        for line in lint_annotations(errors):
            click.echo(line)
    else:
        for error in errors:
            click.echo(str(error), err=True)
        if errors and os.environ.get("GITHUB_ACTIONS") == "true":  # the job's log shows them on the file too
            from runner.report.github import lint_annotations

            for line in lint_annotations(errors):
                click.echo(line)
    if errors:
        sys.exit(exits.INVALID)
    if fmt != "json":
        click.echo(f"ok: {', '.join(p.as_posix() for p in chosen)}")


@cli.command("reasons")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON (schemas/reason-codes.json).")
def reasons_command(as_json: bool) -> None:
    """The reason-code catalog: code, category (pass/fail/blocked), meaning."""
    from runner.reasons import catalog_json, render_catalog_text

    if as_json:
        import json

        click.echo(json.dumps(catalog_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(render_catalog_text().rstrip("\n"))


class _Serve(click.Command):
    """``serve``: the reference server's own command, imported only when it is run or asked about.

    A stand-in, so that every other command (and ``--help``) runs without loading FastAPI and
    uvicorn; its parameters and its context are the real command's.
    """

    def __init__(self) -> None:
        super().__init__("serve", short_help="Serve the Axis contract from a seeded tenant on loopback until Ctrl-C.")

    @staticmethod
    def _real() -> click.Command:
        from velikey.testing import serve_command

        return serve_command

    @property
    def params(self) -> list[click.Parameter]:
        return self._real().params

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        """click's constructor sets an empty list; the real command's parameters are the ones that count."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        return self._real().make_context(info_name, args, parent, **extra)


cli.add_command(_Serve())


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI: usage errors exit 2 with a message; Ctrl-C before a run starts exits 130, not click's 1."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="velikey-e2e", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        exit_interrupted()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
