"""The reviewer facts SUMMARY.json restates from the manifest: the tenant as an origin, never more of the URL."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from runner.evidence.facts import run_facts, tenant_origin

MANIFEST = json.loads((Path(__file__).resolve().parents[2] / "receipts" / "example" / "run-manifest.json").read_bytes())


@pytest.mark.parametrize(("url", "origin"), [
    ("https://axis.example.com/tenant/a?x=1#f", "https://axis.example.com"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ("http://[::1]:9000/api", "http://[::1]:9000"),
    ("https://user:secret@axis.example", "https://axis.example"),
    ("embedded", "embedded"),
    (None, None),
])
def test_tenant_is_the_origin(url: str | None, origin: str | None) -> None:
    assert tenant_origin(url) == origin


def test_transport_and_nonce_are_the_manifests() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["transport"]["proxy"] = {"source": "HTTPS_PROXY", "origin": "http://p:3128"}
    manifest["run_nonce"] = {"value": "n", "source": "github"}
    facts = run_facts(manifest)
    assert facts["transport"] == manifest["transport"] and facts["run_nonce_source"] == "github"
    assert facts["versions"] == {"tool": "velikey-e2e 0.1.0", "sdk": "velikey 0.1.0", "python": "CPython 3.11"}
