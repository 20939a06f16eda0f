"""The reason-code catalog, its generated JSON, and the SDK error mapping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner import reasons
from runner._resources import schemas_dir
from runner.canonical import dumps
from runner.reasons import CATALOG, UnmappedErrorError, catalog_json, reason_for_error, render_catalog_text
from velikey import exceptions as sdk

DESIGN_CODES = """ok dry_run_planned auth_missing auth_invalid auth_forbidden axis_auth_schema_mismatch
policy_missing payload_url_missing python_runtime_unsupported confirmation_required assertion_failed
health_below_threshold payload_integrity_mismatch metering_delta_mismatch metering_not_settled not_found
conflict rate_limited server_error timeout network_error tls_error invalid_response input_not_provided
previous_step_failed scenario_invalid interrupted input_missing validation_error""".split()

PASS = {"ok", "dry_run_planned", "input_not_provided"}
BLOCKED = {
    "auth_missing",
    "policy_missing",
    "payload_url_missing",
    "input_missing",
    "python_runtime_unsupported",
    "confirmation_required",
    "axis_auth_schema_mismatch",
}


def test_catalog_has_every_design_code() -> None:
    assert set(DESIGN_CODES) <= set(CATALOG)


@pytest.mark.parametrize("code", DESIGN_CODES)
def test_categories(code: str) -> None:
    expected = "pass" if code in PASS else "blocked" if code in BLOCKED else "fail"
    assert CATALOG[code].category == expected


def test_entries_are_well_formed() -> None:
    for code, reason in CATALOG.items():
        assert reason.code == code
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code)
        assert reason.category in ("pass", "fail", "blocked")
        for text in (reason.meaning, reason.remediation):
            assert text and "\n" not in text and text == text.strip()


def test_catalog_file_has_not_drifted() -> None:
    path = schemas_dir() / "reason-codes.json"
    assert path.read_bytes() == dumps(catalog_json()), (
        f"{path} is out of date with runner/reasons.py; regenerate it with `python -m runner.reasons --write`"
    )


def test_catalog_json_shape() -> None:
    doc = catalog_json()
    assert doc["$id"] == "https://velikey.dev/schemas/velikey-e2e/reason-codes.json"
    codes = [entry["code"] for entry in doc["codes"]]
    assert codes == sorted(codes) == sorted(CATALOG)
    assert all(set(entry) == {"code", "category", "meaning", "remediation"} for entry in doc["codes"])


def test_write_catalog(tmp_path: Path) -> None:
    target = tmp_path / "reason-codes.json"
    assert reasons.main(["--write", str(target)]) == 0
    assert json.loads(target.read_bytes()) == catalog_json()


def test_render_catalog_text_is_aligned() -> None:
    text = render_catalog_text()
    lines = text.splitlines()
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert lines[0].split() == ["CODE", "CATEGORY", "MEANING"]
    assert len(lines) == len(CATALOG) + 1
    column = lines[0].index("CATEGORY")
    for line, code in zip(lines[1:], sorted(CATALOG), strict=True):
        assert line.startswith(code + " ")
        assert line[column:].startswith(CATALOG[code].category)


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def _instance(cls: type[sdk.VeliKeyError]) -> sdk.VeliKeyError:
    if issubclass(cls, sdk.AuthSourceError):
        return cls("no session", source="AXIS_SESSION_COOKIE_FILE")
    if issubclass(cls, sdk.AuthMissingError):
        return cls("no auth")
    return cls("boom", status=418)


def test_every_sdk_error_has_a_reason_code() -> None:
    classes = [c for c in _all_subclasses(sdk.VeliKeyError) if c.__module__.startswith("velikey")]
    assert classes
    for cls in classes:
        code = reason_for_error(_instance(cls))
        assert code in CATALOG, cls
        assert CATALOG[code].category != "pass", cls


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (sdk.AuthenticationError("x", status=401), "auth_invalid"),
        (sdk.ForbiddenError("x", status=403), "auth_forbidden"),
        (sdk.NotFoundError("x", status=404), "not_found"),
        (sdk.ConflictError("x", status=409), "conflict"),
        (sdk.ValidationError("x", status=422), "validation_error"),
        (sdk.RateLimitError("x", status=429, retry_after=1.0), "rate_limited"),
        (sdk.ServerError("x", status=503), "server_error"),
        (sdk.APIStatusError("x", status=405), "invalid_response"),
        (sdk.APIStatusError("x", status=599), "server_error"),
        (sdk.APIStatusError("x"), "invalid_response"),
        (sdk.TimeoutError("x"), "timeout"),
        (sdk.TLSError("x"), "tls_error"),
        (sdk.TransportError("x"), "network_error"),
        (sdk.InvalidResponseError("x"), "invalid_response"),
        (sdk.AuthMissingError("x"), "auth_missing"),
        (sdk.AuthSourceError("x", source="AXIS_SESSION_COOKIE_COMMAND"), "auth_missing"),
        (sdk.AuthSchemaMismatchError("x"), "axis_auth_schema_mismatch"),
    ],
)
def test_reason_for_error(error: BaseException, code: str) -> None:
    assert reason_for_error(error) == code


def test_status_table_and_reason_table_agree() -> None:
    for status in (400, 401, 403, 404, 409, 422, 429, 500, 502, 503):
        error = sdk.error_for_status(status)("x", status=status)
        assert reason_for_error(error) != "invalid_response", status


def test_subclass_inherits_parent_code() -> None:
    class Gateway(sdk.ServerError):
        pass

    assert reason_for_error(Gateway("x", status=502)) == "server_error"


@pytest.mark.parametrize("error", [ValueError("bug"), sdk.VeliKeyError("untyped"), KeyboardInterrupt()])
def test_unmapped_errors_raise(error: BaseException) -> None:
    with pytest.raises(UnmappedErrorError):
        reason_for_error(error)
