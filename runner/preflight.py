"""Preflight: every input, the run's ids, the session and what blocks a live run, before any step.

Inputs come from flags, the environment and (``--embedded``) the reference server, which is
imported only here and only then. A live run opens the SDK client and resolves its auth once;
a failure to authenticate is a blocker with guidance, not a crash. What the redactor needs
(the secret values and the live URLs) leaves here as data: the evidence stage builds the
redactor, so raw values never meet a receipt before it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from random import Random
from typing import Any

import httpx

from runner.config import InputError, RunConfig
from runner.control import Control, Stopped
from runner.ids import RunIds, resolve_nonce
from runner.inputs import INPUTS, ResolvedInput, auth_kind, resolve_inputs, secret_problems
from runner.reasons import reason_for_error
from runner.scenario.load import Planned
from runner.transport import Transport, TransportError, resolve_transport
from velikey import AegisClient, RetryPolicy
from velikey.exceptions import AuthSourceRefusedError, VeliKeyError
from velikey.operations import CLIENT_CREDENTIALS_SOURCE
from velikey.operations import SECRET_ENV as SDK_SECRET_ENV

__all__ = ["SECRET_ENV", "Block", "Checked", "Embedded", "Preflight", "check", "embedded_server", "preflight"]

# The SDK's secret env values, plus the rollback token, which only the runner reads.
SECRET_ENV = (*SDK_SECRET_ENV, "AEGIS_ROLLBACK_TOKEN")
# Auth sources sent as `Authorization: Bearer` rather than the session cookie (for the dry-run's rendering).
BEARER_SOURCES = ("VELIKEY_API_KEY", CLIENT_CREDENTIALS_SOURCE)


@dataclass(frozen=True)
class Embedded:
    """The reference server a run started for itself: every input, and the session it hands out."""

    inputs: dict[str, str] = field(repr=False)
    cookie: str = field(repr=False)


@contextmanager
def embedded_server(enabled: bool) -> Iterator[Embedded | None]:
    """Start the reference server for the run (``--embedded``) and take every input from it."""
    if not enabled:
        yield None
        return
    from velikey.testing import ReferenceServer

    with ReferenceServer() as server:
        yield Embedded(
            {"base_url": server.base_url, "payload_url": server.payload_url,
             "policy_id": server.first_active_policy_id, "session": server.session_cookie},
            server.session_cookie,
        )


@dataclass(frozen=True)
class Preflight:
    """What preflight established. ``live`` says whether steps send; a blocked live run sends nothing."""

    ids: RunIds
    scenario_files: tuple[dict[str, str], ...]
    shown: dict[str, dict[str, Any]]
    values: Mapping[str, str | None] = field(repr=False)
    missing: tuple[str, ...]
    blocker_codes: tuple[str, ...]
    auth_source: str | None
    auth_header: str
    live: bool
    blocked: bool
    # Raw: may hold secrets until the evidence stage's redactor has seen them.
    guidance: tuple[str, ...] = field(repr=False)
    secrets: tuple[str | None, ...] = field(repr=False)
    urls: Mapping[str, str] = field(repr=False)
    client: AegisClient | None = field(default=None, repr=False)
    # Live scenarios (by position) that send nothing, and why; ``blocked`` means all of them are.
    blocks: Mapping[int, Block] = field(default_factory=dict)
    transport: Mapping[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


def shown_inputs(inputs: Mapping[str, ResolvedInput]) -> dict[str, dict[str, Any]]:
    """Non-secret input values as the manifest shows them; embedded ones by origin (their port varies)."""
    shown = {}
    for name, value in inputs.items():
        secret = INPUTS[name].secret
        by_origin = value.source == "embedded" and name != "policy_id"
        visible = None if secret or not value.provided else ("embedded" if by_origin else value.value)
        shown[name] = {"provided": value.provided, "source": value.source, "value": visible}
    return shown


def _scenario_files(planned: Sequence[Planned]) -> tuple[dict[str, str], ...]:
    return tuple({"id": p.scenario.id, "file": p.file, "sha256": f"sha256:{p.source.sha256}"} for p in planned)


def url_problem(name: str, url: str | None) -> str | None:
    """Why input ``name``'s URL cannot be sent to, found before any request (None: it can, or it is not given).

    A URL that does not parse used to surface as httpx's traceback after earlier steps had already
    reached the tenant; userinfo would be written to the manifest in clear.
    """
    if not url:
        return None
    where = _where(name)
    if any(c in url for c in "\r\n\t ") or not url.isprintable():
        return f"{where}: the URL holds white space or control characters"
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        return f"{where}: not a URL ({exc})"
    if port is not None and not 0 < port < 65536:
        return f"{where}: port {port} is out of range"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"{where}: needs http:// or https:// and a host"
    if parsed.userinfo:
        return f"{where}: credentials in the URL are refused; use the session inputs instead"
    return None


def insecure_problem(name: str, url: str | None) -> str | None:
    """Why ``url`` would send credentials in clear: ``http://`` to a host that is not loopback."""
    if not url:
        return None
    parsed = httpx.URL(url)
    if parsed.scheme != "http" or _loopback(parsed.host):
        return None
    return (f"{_where(name)}: http:// to {parsed.host}, which is not loopback, sends the session in clear; "
            "use https:// or pass --allow-insecure-http")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _where(name: str) -> str:
    spec = INPUTS.get(name)
    return f"{name} ({spec.flag} / {spec.env[0]})" if spec else name


@dataclass(frozen=True)
class Block:
    """Why one scenario of a live run sends nothing: its code and the message its steps carry."""

    reason: str
    message: str


def _missing(planned: Sequence[Planned], inputs: Mapping[str, ResolvedInput]) -> tuple[str, ...]:
    required = {"base_url", *(need for p in planned for need in p.scenario.needs)}
    return tuple(sorted(name for name in required if not inputs[name].provided))


def _own_missing(planned: Planned, missing: Sequence[str]) -> list[str]:
    return [name for name in INPUTS if name in missing and (name in planned.scenario.needs or name == "base_url")]


def _wants_session(planned: Planned) -> bool:
    scenario = planned.scenario
    return "session" in scenario.needs or any("session" in step.needs for step in scenario.steps)


@dataclass(frozen=True)
class Checked:
    """What preflight establishes without the network: inputs, ids, transport; every input problem raised."""

    inputs: Mapping[str, ResolvedInput] = field(repr=False)
    shown: dict[str, dict[str, Any]]
    files: tuple[dict[str, str], ...]
    ids: RunIds
    missing: tuple[str, ...]
    transport: Transport


def check(config: RunConfig, planned: Sequence[Planned], embedded: Embedded | None) -> Checked:
    """Every input checked before any request: URLs, secrets' format, insecure transport, trust and proxy.

    Raises ``InputError`` (one line per problem, naming the input, never a secret's value).
    """
    nonce = resolve_nonce(config.run_id, config.env, live=config.live, embedded=config.embedded)
    inputs = resolve_inputs(config.env, config.flags, embedded.inputs if embedded else None)
    shown = shown_inputs(inputs)
    files = _scenario_files(planned)
    ids = RunIds.for_plan(
        {"inputs": {k: v["value"] for k, v in shown.items()}, "confirm": config.confirm}, config.mode, nonce,
        {f["id"]: f["sha256"] for f in files},
    )
    urls = {name: inputs[name].value for name in ("base_url", "payload_url")}
    urls["AXIS_TOKEN_URL"] = config.env.get("AXIS_TOKEN_URL") or None
    problems = [p for name, url in urls.items() if (p := url_problem(name, url))]
    if not config.allow_insecure_http and not problems:
        problems += [p for name, url in urls.items() if (p := insecure_problem(name, url))]
    problems += secret_problems(config.env, config.flags)
    transport = None
    if not problems:
        try:
            transport = resolve_transport(base_url=str(urls["base_url"]), env=config.env, ca_bundle=config.ca_bundle,
                                          verify_tls=config.verify_tls, allow_insecure_http=config.allow_insecure_http)
        except TransportError as exc:
            problems.append(str(exc))
    if problems or transport is None:
        raise InputError(problems)
    return Checked(inputs, shown, files, ids, _missing(planned, inputs), transport)


async def preflight(config: RunConfig, planned: Sequence[Planned], embedded: Embedded | None,
                    checked: Checked | None = None, control: Control | None = None) -> Preflight:
    """Resolve auth for ``planned`` (after ``check``) and decide the blockers; never raises for the system under test.

    A live scenario whose own needs are missing is blocked with a message naming it and them; the
    others are held, naming the scenarios that are not ready: a live run whose inputs are not all
    present sends nothing at all (DESIGN "Modes"), not even the session's login.
    """
    checked = checked or check(config, planned, embedded)
    inputs, ids, missing = checked.inputs, checked.ids, checked.missing
    values = {name: value.value for name, value in inputs.items() if name != "session"}
    urls = {values["base_url"] or "": "AXIS_BASE_URL", values.get("payload_url") or "": "SDK_E2E_PAYLOAD_URL"}
    secrets = [config.env.get(name) for name in SECRET_ENV] + [embedded.cookie if embedded else None]
    if config.flags.get("rollback_token"):
        secrets.append(config.flags["rollback_token"])

    blocks: dict[int, Block] = {}
    if config.live:
        for number, p in enumerate(planned):
            if own := _own_missing(p, missing):
                blocks[number] = Block(INPUTS[own[0]].reason,
                                       f"live inputs missing for scenario {p.scenario.id}: {', '.join(own)}")
    if blocks:
        short = ", ".join(planned[number].scenario.id for number in sorted(blocks))
        reason = blocks[min(blocks)].reason
        for number in range(len(planned)):
            blocks.setdefault(number, Block(reason, f"held: nothing is sent until every scenario's live inputs are "
                                                    f"present (missing for {short})"))
    runnable = [p for number, p in enumerate(planned) if number not in blocks]

    client: AegisClient | None = None
    auth_source = "embedded" if embedded else auth_kind(config.env)
    codes: list[str] = []
    guidance: list[str] = []
    if config.live and runnable:
        client = AegisClient(
            session_cookie=embedded.cookie if embedded else None,
            base_url=str(values["base_url"]),
            timeout=config.request_timeout,
            verify_ssl=checked.transport.verify,
            env=config.env,
            retry_policy=RetryPolicy(max_retries=config.max_retries, rng=Random(ids.run_id)),
        )
        # A scenario declaring no session (``needs: []``) needs none: auth is resolved only when one is wanted.
        if any(_wants_session(p) for p in runnable) and inputs["session"].provided:
            try:
                await (control or Control()).before_deadline(client.resolve_auth())
            except Stopped as stop:  # the run's deadline covers auth resolution (a slow login) too
                codes.append(stop.reason)
                guidance.append("the run's deadline passed while the session was being established")
            except AuthSourceRefusedError as exc:  # a FIFO, device or oversized cookie file is bad input
                await client.close()
                raise InputError([str(exc)]) from None
            except VeliKeyError as exc:
                codes.append(reason_for_error(exc))
                guidance.append(str(exc))
            if codes:
                for number, p in enumerate(planned):
                    if number not in blocks and "session" in p.scenario.needs:
                        blocks[number] = Block(codes[0], "the session could not be established")
        secrets += list(client.redaction_values())
        if not embedded:
            auth_source = client.auth_source or auth_source
    # The header the requests carry (dry-run: the one the environment's auth source would give).
    uses_api_key = client.uses_api_key if client else auth_kind(config.env) in BEARER_SOURCES
    blocked = config.live and bool(blocks) and len(blocks) == len(planned)
    # Every blocked scenario's missing inputs' codes reach the result receipt, not only the ones the steps carry.
    held = {name for number in blocks for name in _own_missing(planned[number], missing)}
    codes += [INPUTS[name].reason for name in missing if name in held]
    return Preflight(
        ids=ids, scenario_files=checked.files, shown=checked.shown, values=values, missing=missing,
        blocker_codes=tuple(dict.fromkeys(codes)), auth_source=auth_source,
        auth_header="Authorization" if uses_api_key else "Cookie", live=config.live and not blocked,
        blocked=blocked, guidance=tuple(guidance), secrets=tuple(secrets), urls=urls, client=client,
        blocks=blocks, transport=checked.transport.shown,
    )
