"""The reason-code catalog and the one mapping from SDK errors to reason codes.

Every step outcome carries exactly one reason code, and gates key on these strings, so the
catalog is a contract: codes are only ever added, never renamed or re-categorised. The
category says what a code does to the verdict: ``pass`` codes never fail a run, ``fail``
codes fail it, ``blocked`` codes make it ``manual-required`` (a human must supply or fix an
input; nothing is wrong with the product yet).

``schemas/reason-codes.json`` and the receipt schemas' ``reason_code`` enum are generated
from ``CATALOG``; regenerate them with::

    python -m runner.reasons --write

``reason_for_error`` is the only place an SDK exception becomes a reason code. Error →
code decisions:

* a status error the SDK has no class for (an unexpected 4xx such as 405 or 410) is
  ``invalid_response``: the server answered outside the contract; a bare
  ``APIStatusError`` with a 5xx status is still ``server_error``;
* ``AuthSourceError`` (a configured cookie file or command produced no session) is
  ``auth_missing``: no usable session exists, and the remedy is the same as for an absent
  one — a human fixes the input — so the run is blocked, not failed;
* ``replayed_evidence`` (an answer the tenant replayed for a key an earlier run sent) is
  ``blocked``, not ``fail`` and never ``pass``: the product did nothing wrong, but the step
  proves nothing new, so the gate must not go green; a human reruns with a fresh run nonce;
* anything that is not a ``VeliKeyError`` subclass (and a bare ``VeliKeyError``) raises
  ``UnmappedErrorError``: an exception the SDK did not type is a bug, not a reason.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CATALOG",
    "CATALOG_ID",
    "Category",
    "Reason",
    "UnmappedErrorError",
    "catalog_json",
    "main",
    "reason_for_error",
    "render_catalog_text",
    "write_catalog",
]

Category = Literal["pass", "fail", "blocked"]

CATALOG_ID = "https://velikey.dev/schemas/velikey-e2e/reason-codes.json"


class Reason(NamedTuple):
    """One catalog entry: what a code means and what a human should do about it.

    A NamedTuple rather than a dataclass: ``velikey-e2e reasons`` then loads no ``dataclasses``.
    """

    code: str
    category: Category
    meaning: str
    remediation: str


def _catalog(*reasons: Reason) -> Mapping[str, Reason]:
    table = {reason.code: reason for reason in reasons}
    if len(table) != len(reasons):
        raise AssertionError("duplicate reason code in the catalog")
    return MappingProxyType(dict(sorted(table.items())))


CATALOG: Mapping[str, Reason] = _catalog(
    # -- pass ------------------------------------------------------------------------------
    Reason("ok", "pass", "The step ran and every assertion held.", "Nothing to do."),
    Reason(
        "dry_run_planned",
        "pass",
        "Dry run: the request was rendered, nothing was sent.",
        "Run again with --live (and the inputs listed under readiness) to execute it.",
    ),
    Reason(
        "input_not_provided",
        "pass",
        "An optional input this step needs is absent, so the step was skipped.",
        "Provide the input named in the message (see `velikey-e2e run --help`) to run the step.",
    ),
    # -- blocked ---------------------------------------------------------------------------
    Reason(
        "auth_missing",
        "blocked",
        "No usable Axis session: no auth source is configured, or the configured one produced none.",
        "Set AXIS_SESSION_COOKIE (or AXIS_SESSION_TOKEN, AXIS_SESSION_COOKIE_FILE, "
        "AXIS_SESSION_COOKIE_COMMAND, AXIS_AUTH_EMAIL + AXIS_AUTH_PASSWORD, VELIKEY_API_KEY) and rerun.",
    ),
    Reason(
        "axis_auth_schema_mismatch",
        "blocked",
        "The Axis credentials endpoints answered in a shape this SDK does not know.",
        "Supply a session cookie directly (AXIS_SESSION_COOKIE) or update the SDK to the tenant's auth API.",
    ),
    Reason(
        "policy_missing",
        "blocked",
        "No policy id was given for steps that plan or apply a rollout.",
        "Set AEGIS_POLICY_ID or pass --policy-id with an active policy of the tenant.",
    ),
    Reason(
        "payload_url_missing",
        "blocked",
        "No payload integrity endpoint was given for the probe steps.",
        "Set SDK_E2E_PAYLOAD_URL or pass --payload-url with the tenant's hash-echo ingest URL.",
    ),
    Reason(
        "input_missing",
        "blocked",
        "A live input the selected scenarios need (e.g. base_url) is missing.",
        "Provide the input named in BLOCKER.json through its environment variable or flag.",
    ),
    Reason(
        "python_runtime_unsupported",
        "blocked",
        "No Python interpreter >= 3.10 is available to run the SDK.",
        "Point SDK_E2E_PYTHON_BIN at a Python 3.10+ interpreter and rerun.",
    ),
    Reason(
        "confirmation_required",
        "blocked",
        "A non-dry-run apply or rollback was not confirmed, so it was not sent.",
        "Review the planned change, then rerun with --confirm.",
    ),
    Reason(
        "replayed_evidence",
        "blocked",
        "The tenant answered this effect or probe from its replay store (Idempotent-Replayed: true): an earlier "
        "run with the same run id already sent it, so this answer proves nothing new.",
        "Rerun without --run-id and VELIKEY_E2E_RUN_ID (a fresh run nonce), or with a run id not used against "
        "this tenant before; reuse a run id only to reproduce receipts against a fresh tenant.",
    ),
    # -- fail ------------------------------------------------------------------------------
    Reason(
        "auth_invalid",
        "fail",
        "Axis rejected the credentials (401): the session or API key is invalid or expired.",
        "Obtain a fresh session cookie or API key and rerun.",
    ),
    Reason(
        "auth_forbidden",
        "fail",
        "Axis refused the request (403): the identity lacks access to this tenant or resource.",
        "Use an identity with access to the tenant, or grant the missing permission.",
    ),
    Reason(
        "assertion_failed",
        "fail",
        "A response value did not meet the scenario's expectation.",
        "Compare expected and actual in the step's assertions; fix the service or the scenario.",
    ),
    Reason(
        "health_below_threshold",
        "fail",
        "The tenant's health score is below the scenario's minimum.",
        "Resolve the active alerts and agent/telemetry gaps named in the health recommendations.",
    ),
    Reason(
        "payload_integrity_mismatch",
        "fail",
        "The payload endpoint echoed a different SHA-256 or byte count than was sent.",
        "Check proxies or middleware between the runner and the payload URL for body rewriting.",
    ),
    Reason(
        "metering_delta_mismatch",
        "fail",
        "The metered usage changed by a different amount than expected.",
        "Compare before/after/delta in the step with the bytes sent; check metering for the tenant.",
    ),
    Reason(
        "metering_not_settled",
        "fail",
        "The metered usage did not reach the expected value within settle_s.",
        "Raise settle_s in the scenario if metering lag is expected, or investigate the metering pipeline.",
    ),
    Reason(
        "not_found",
        "fail",
        "Axis answered 404: the policy, plan or token does not exist.",
        "Check the id passed to the step (e.g. AEGIS_POLICY_ID, AEGIS_ROLLBACK_TOKEN) against the tenant.",
    ),
    Reason(
        "conflict",
        "fail",
        "Axis answered 409: the request conflicts with the resource's current state.",
        "Inspect the resource's state (e.g. an in-flight rollout) and rerun once it is settled.",
    ),
    Reason(
        "validation_error",
        "fail",
        "Axis rejected the request's content (400/422).",
        "Read the server detail in the evidence and fix the step's arguments.",
    ),
    Reason(
        "rate_limited",
        "fail",
        "Axis kept answering 429 after every retry.",
        "Rerun later or with a lower --concurrency.",
    ),
    Reason(
        "server_error",
        "fail",
        "Axis answered 5xx after every retry.",
        "Check the service's health and logs for the request ids in the evidence.",
    ),
    Reason(
        "timeout",
        "fail",
        "A request or the run's deadline timed out.",
        "Check connectivity to Axis; raise --request-timeout or --deadline if the service is slow.",
    ),
    Reason(
        "network_error",
        "fail",
        "No usable HTTP answer: the connection was refused, reset or dropped.",
        "Check the base URL, DNS, proxies and that the service is reachable from this host.",
    ),
    Reason(
        "tls_error",
        "fail",
        "TLS verification or the handshake failed.",
        "Fix the server certificate or install the CA that issued it; verification stays on.",
    ),
    Reason(
        "invalid_response",
        "fail",
        "The answer was not what the contract promises (not JSON, wrong shape, unexpected status).",
        "Check that the base URL points at Axis and compare the response in the evidence with the contract.",
    ),
    Reason(
        "poll_timeout",
        "fail",
        "An until: step polled its whole budget (within_s / every_s) and its expect never held.",
        "Read the last answer in the step's evidence; raise within_s if the tenant is slow to get there.",
    ),
    Reason(
        "previous_step_failed",
        "fail",
        "An earlier step of this scenario failed or was blocked, so this step did not run.",
        "Resolve the first failed or blocked step of the scenario.",
    ),
    Reason(
        "scenario_invalid",
        "fail",
        "The scenario file is invalid and was not run.",
        "Run `velikey-e2e lint` on the file and fix the reported file:line errors.",
    ),
    Reason(
        "interrupted",
        "fail",
        "The run was interrupted before this step finished.",
        "Rerun; the receipts of an interrupted run are complete but the steps did not all run.",
    ),
    Reason(
        "internal_error",
        "fail",
        "The tool itself failed during this step (a bug in velikey-e2e, not in the tenant); the set is still written.",
        "Report it with SUMMARY.json's message for the step; rerun once fixed.",
    ),
)

@cache
def _error_codes() -> Mapping[type[BaseException], str]:
    """SDK error class → reason code, built on first use so ``reasons`` never loads the SDK (httpx, pydantic).

    Most specific class first is not needed: ``reason_for_error`` walks the MRO, so a subclass
    inherits its parent's code unless it is listed itself.
    """
    from velikey import exceptions as sdk

    return MappingProxyType(
        {
            sdk.AuthenticationError: "auth_invalid",
            sdk.ForbiddenError: "auth_forbidden",
            sdk.NotFoundError: "not_found",
            sdk.ConflictError: "conflict",
            sdk.ValidationError: "validation_error",
            sdk.RateLimitError: "rate_limited",
            sdk.ServerError: "server_error",
            sdk.TimeoutError: "timeout",
            sdk.WaitTimeoutError: "poll_timeout",
            sdk.TLSError: "tls_error",
            sdk.TransportError: "network_error",
            sdk.InvalidResponseError: "invalid_response",
            sdk.AuthMissingError: "auth_missing",
            sdk.AuthSourceError: "auth_missing",
            sdk.AuthSchemaMismatchError: "axis_auth_schema_mismatch",
            sdk.AuthError: "auth_missing",
        }
    )


class UnmappedErrorError(TypeError):
    """An exception that has no reason code: a bug to fix, never a step outcome."""


def reason_for_error(exc: BaseException) -> str:
    """The reason code for an SDK error; the only error → code mapping in the runner.

    The most specific listed class in the exception's MRO wins. A status error of a class
    the table does not list (a plain ``APIStatusError``) is ``server_error`` for 5xx and
    ``invalid_response`` otherwise: an unexpected status is an answer outside the contract.
    """
    from velikey.exceptions import APIStatusError

    codes = _error_codes()
    for cls in type(exc).__mro__:
        code = codes.get(cls)
        if code is not None:
            return code
        if cls is APIStatusError:
            status = getattr(exc, "status", None)
            return "server_error" if isinstance(status, int) and status >= 500 else "invalid_response"
    raise UnmappedErrorError(f"no reason code for {type(exc).__module__}.{type(exc).__qualname__}") from exc


def catalog_json() -> dict[str, Any]:
    """The document ``schemas/reason-codes.json`` holds, generated from ``CATALOG``."""
    return {
        "$id": CATALOG_ID,
        "title": "velikey-e2e reason codes",
        "description": (
            "Stable catalog of step and run reason codes. Codes are never renamed. "
            "Generated by `python -m runner.reasons --write`; do not edit by hand."
        ),
        "schema_version": 1,
        "codes": [
            {
                "code": reason.code,
                "category": reason.category,
                "meaning": reason.meaning,
                "remediation": reason.remediation,
            }
            for reason in sorted(CATALOG.values(), key=lambda r: r.code)
        ],
    }


def render_catalog_text() -> str:
    """The catalog as an aligned plain-text table (code, category, meaning) for the CLI."""
    rows = [("CODE", "CATEGORY", "MEANING")]
    rows += [(r.code, r.category, r.meaning) for r in sorted(CATALOG.values(), key=lambda r: r.code)]
    code_w = max(len(row[0]) for row in rows)
    cat_w = max(len(row[1]) for row in rows)
    lines = [f"{code:<{code_w}}  {cat:<{cat_w}}  {meaning}".rstrip() for code, cat, meaning in rows]
    return "\n".join(lines) + "\n"


def write_catalog(path: Path | None = None) -> Path:
    """Write ``reason-codes.json`` (canonical JSON) and return where it went.

    A developer's regeneration of a checked-in file: a plain write, so this foundation needs
    nothing from the receipts stage above it.
    """
    # Imported here, as argparse in ``main``: ``velikey-e2e reasons`` only prints the catalog.
    from runner._resources import schemas_dir
    from runner.canonical import dumps

    target = path if path is not None else schemas_dir() / "reason-codes.json"
    target.write_bytes(dumps(catalog_json()))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m runner.reasons [--write [PATH]]``: print the catalog or regenerate its JSON."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m runner.reasons", description=main.__doc__)
    parser.add_argument(
        "--write",
        nargs="?",
        const="",
        metavar="PATH",
        help="regenerate reason-codes.json (default: the schemas directory)",
    )
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render_catalog_text())
        return 0
    target = write_catalog(Path(args.write) if args.write else None)
    sys.stdout.write(f"wrote {target}\n")
    if not args.write:
        from runner.catalog_schemas import write_schema_codes

        for schema in write_schema_codes():
            sys.stdout.write(f"wrote {schema}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
