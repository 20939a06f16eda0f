"""The run facts SUMMARY.json restates from run-manifest.json, so SUMMARY.md can show them from SUMMARY.json alone.

A reviewer signs off on where the run went and how (tenant, auth source, TLS and proxy, versions);
those facts are the manifest's, so one pure function of the manifest document makes them, both
when the summary is written (``evidence.collect``) and when ``validate`` checks that a summary's
facts are its own manifest's (``receipts.meaning``). Standard library only: validate imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["run_facts", "tenant_origin"]


def tenant_origin(base_url: str | None) -> str | None:
    """``scheme://host[:port]`` of the base URL as the manifest shows it (``embedded`` stays as is)."""
    if not base_url or base_url == "embedded":
        return base_url
    parts = urlsplit(base_url)
    # Preflight refuses userinfo; dropping it here anyway keeps a credential out of the summary.
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def run_facts(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a (schema-valid) run-manifest.json document that SUMMARY.json carries as ``facts``."""
    return {
        "tenant": tenant_origin(manifest["inputs"].get("base_url", {}).get("value")),
        "auth_source": manifest["auth_source"],
        "transport": dict(manifest["transport"]),
        "confirm": manifest["options"]["confirm"],
        "run_nonce_source": manifest["run_nonce"]["source"],
        "versions": {
            "tool": f"{manifest['tool']['name']} {manifest['tool']['version']}",
            "sdk": f"{manifest['sdk']['name']} {manifest['sdk']['version']}",
            "python": f"{manifest['python']['implementation']} {manifest['python']['version']}",
        },
    }
