"""The live inputs a scenario may need, where each comes from, and what to do when one is missing.

One table (``INPUTS``) drives preflight, the manifest, dry-run readiness and BLOCKER.json,
so the env names, flags and guidance can never disagree between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from velikey.operations import AUTH_SOURCES

__all__ = ["HEADER_SECRETS", "INPUTS", "InputSpec", "ResolvedInput", "auth_kind", "resolve_inputs", "secret_problems"]

DEFAULT_BASE_URL = "https://axis.velikey.com"
# Secrets that travel in a request header (Cookie, Authorization, the rollback token's field), by env name.
HEADER_SECRETS = ("AXIS_SESSION_COOKIE", "AXIS_SESSION_TOKEN", "VELIKEY_API_KEY", "AXIS_CLIENT_SECRET",
                  "AEGIS_ROLLBACK_TOKEN")


@dataclass(frozen=True)
class InputSpec:
    """One live input: its env variables (in precedence order), flag, reason code and guidance."""

    name: str
    env: tuple[str, ...]
    flag: str | None
    reason: str
    how: str
    secret: bool = False


INPUTS: Mapping[str, InputSpec] = {
    spec.name: spec
    for spec in (
        InputSpec(
            "base_url",
            ("AXIS_BASE_URL",),
            "--base-url",
            "input_missing",
            "Set AXIS_BASE_URL (or --base-url) to the Axis tenant, e.g. https://axis.velikey.com.",
        ),
        InputSpec(
            "session",
            tuple(name for source in AUTH_SOURCES for name in source.split("+")),
            None,
            "auth_missing",
            "Export one auth source: AXIS_SESSION_COOKIE, AXIS_SESSION_TOKEN, AXIS_SESSION_COOKIE_FILE "
            "(cookie text or a browser storage-state JSON), AXIS_SESSION_COOKIE_COMMAND, VELIKEY_API_KEY, "
            "AXIS_CLIENT_ID + AXIS_CLIENT_SECRET for OAuth2 client credentials (AXIS_TOKEN_URL if not the tenant's), "
            "or AXIS_AUTH_EMAIL + AXIS_AUTH_PASSWORD for the credentials bootstrap.",
            secret=True,
        ),
        InputSpec(
            "policy_id",
            ("AEGIS_POLICY_ID",),
            "--policy-id",
            "policy_missing",
            "Set AEGIS_POLICY_ID (or --policy-id) to an active Aegis policy; create one first if none exists.",
        ),
        InputSpec(
            "rollback_token",
            ("AEGIS_ROLLBACK_TOKEN",),
            "--rollback-token",
            "input_missing",
            "Set AEGIS_ROLLBACK_TOKEN (or --rollback-token) to the token a confirmed apply returned.",
            secret=True,
        ),
        InputSpec(
            "payload_url",
            ("SDK_E2E_PAYLOAD_URL",),
            "--payload-url",
            "payload_url_missing",
            "Set SDK_E2E_PAYLOAD_URL (or --payload-url) to the public Aegis ingest endpoint that echoes "
            '{"sha256", "bytes"} for what it receives.',
        ),
    )
}


@dataclass(frozen=True)
class ResolvedInput:
    """An input's value (None when absent) and where it came from (``env:NAME``, ``flag:--x`` …)."""

    name: str
    value: str | None
    source: str | None

    @property
    def provided(self) -> bool:
        return self.value is not None


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value and value.strip() else None


def auth_kind(env: Mapping[str, str]) -> str | None:
    """The auth source the SDK would pick from ``env``, by name, without reading or running anything.

    A pair (``A+B``) counts when both halves are set.
    """
    for source in AUTH_SOURCES:
        if all(_env(env, name) for name in source.split("+")):
            return source
    return None


def resolve_inputs(
    env: Mapping[str, str],
    flags: Mapping[str, str | None],
    embedded: Mapping[str, str] | None = None,
) -> dict[str, ResolvedInput]:
    """Every input's value: flag, then env, then the embedded server, then (base_url only) the default."""
    resolved: dict[str, ResolvedInput] = {}
    for name, spec in INPUTS.items():
        if name == "session":
            kind = auth_kind(env)
            # The session's value is only the name of its source: the secret itself never leaves the SDK.
            if embedded and "session" in embedded:
                resolved[name] = ResolvedInput(name, "embedded", "embedded")
            else:
                resolved[name] = ResolvedInput(name, kind, f"env:{kind}" if kind else None)
            continue
        flag_value = flags.get(name)
        env_value = next((v for v in (_env(env, e) for e in spec.env) if v), None)
        if flag_value:
            resolved[name] = ResolvedInput(name, flag_value, f"flag:{spec.flag}")
        elif env_value:
            resolved[name] = ResolvedInput(name, env_value, f"env:{spec.env[0]}")
        elif embedded and name in embedded:
            resolved[name] = ResolvedInput(name, embedded[name], "embedded")
        elif name == "base_url":
            resolved[name] = ResolvedInput(name, DEFAULT_BASE_URL, "default")
        else:
            resolved[name] = ResolvedInput(name, None, None)
    return resolved


def _header_safe(value: str) -> bool:
    return all(" " <= ch <= "~" for ch in value.strip())


def secret_problems(env: Mapping[str, str], flags: Mapping[str, str | None]) -> list[str]:
    """One line per secret a header cannot carry (control characters, line breaks, non-ASCII), named, never quoted.

    Such a value used to be found by httpx only when the first authenticated request was built,
    after earlier steps had reached the tenant, as a traceback.
    """
    given = [(name, env.get(name)) for name in HEADER_SECRETS]
    given.append(("--rollback-token", flags.get("rollback_token")))
    return [
        f"{name}: the secret holds a character a request header cannot carry (a control character, line break "
        "or non-ASCII); export it again without them"
        for name, value in given
        if value and value.strip() and not _header_safe(value)
    ]
