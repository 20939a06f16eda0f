"""Trust and routing: which CA bundle verifies TLS and which proxy carries the run, decided once.

``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE`` and the proxy variables change what a run trusts and
where its requests go, so they are read here from the run's environment, checked before any
request and recorded in the manifest (a digest of the bundle, the proxy's origin: never a path
or a proxy's credentials). The bundle is loaded into the ``ssl.SSLContext`` the client verifies
with, so what the manifest says is what was used.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runner.canonical import sha256_tag

__all__ = ["MAX_CA_BUNDLE_BYTES", "Transport", "TransportError", "resolve_transport"]

# A CA bundle is tens of kilobytes; a bound keeps a wrong path (a disk image, /dev/zero) from hanging the run.
MAX_CA_BUNDLE_BYTES = 16 * 1024 * 1024
CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
PROXY_ENV = {"https": ("HTTPS_PROXY", "https_proxy"), "http": ("HTTP_PROXY", "http_proxy")}
ALL_PROXY_ENV = ("ALL_PROXY", "all_proxy")
NO_PROXY_ENV = ("NO_PROXY", "no_proxy")
PROXY_SCHEMES = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


class TransportError(ValueError):
    """A CA bundle or proxy setting that cannot be used; the message names the setting, never a secret."""


@dataclass(frozen=True)
class Transport:
    """How the client verifies and routes: ``verify`` goes to httpx, ``shown`` to the manifest."""

    verify: bool | ssl.SSLContext = field(repr=False)
    shown: dict[str, Any]


def _load_bundle(where: str, path: Path) -> tuple[ssl.SSLContext, str]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CA_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise TransportError(f"{where} {path} cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_CA_BUNDLE_BYTES:
        raise TransportError(f"{where} {path} is larger than {MAX_CA_BUNDLE_BYTES} bytes; not a CA bundle")
    try:
        text = data.decode("ascii")
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError("no certificate")
        context = ssl.create_default_context(cadata=text)
    except (ValueError, ssl.SSLError):
        raise TransportError(f"{where} {path} is not a PEM CA bundle (no certificate could be loaded)") from None
    return context, sha256_tag(data)


def _bypassed(host: str, env: Mapping[str, str]) -> bool:
    """Whether ``NO_PROXY`` exempts ``host`` (``*``, the host itself, or a domain it is under)."""
    listed = next((env[name] for name in NO_PROXY_ENV if env.get(name)), "")
    if listed.strip() == "*":
        return True
    entries = (part.strip().lower().removeprefix("*").removeprefix(".") for part in listed.split(","))
    return any(entry and (host == entry or host.endswith("." + entry)) for entry in entries)


def _proxy(base_url: str, env: Mapping[str, str]) -> dict[str, str | None]:
    """The proxy the base URL's requests go through: its variable's name and origin, without userinfo."""
    url = httpx.URL(base_url)
    names = (*PROXY_ENV.get(url.scheme, ()), *ALL_PROXY_ENV)
    source = next((name for name in names if env.get(name, "").strip()), None)
    if source is None or _bypassed(url.host.lower(), env):
        return {"source": None, "origin": None}
    try:
        proxy = httpx.URL(env[source].strip())
        port = proxy.port
    except (httpx.InvalidURL, ValueError):
        proxy, port = None, None
    if proxy is None or proxy.scheme not in PROXY_SCHEMES or not proxy.host:
        raise TransportError(f"{source}: not a proxy URL (needs http://, https:// or socks5:// and a host)")
    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    return {"source": source, "origin": f"{proxy.scheme}://{host}:{port or PROXY_SCHEMES[proxy.scheme]}"}


def resolve_transport(*, base_url: str, env: Mapping[str, str], ca_bundle: Path | None, verify_tls: bool,
                      allow_insecure_http: bool) -> Transport:
    """The run's trust and routing from ``--ca-bundle``, the environment and the TLS flags; ``TransportError``."""
    source, path = ("flag", ca_bundle) if ca_bundle is not None else next(
        ((name, Path(env[name])) for name in CA_ENV if env.get(name, "").strip()), ("default", None))
    verify: bool | ssl.SSLContext = verify_tls
    digest = None
    if path is not None:
        where = "--ca-bundle" if source == "flag" else source
        context, digest = _load_bundle(where, path)
        verify = context if verify_tls else False
    return Transport(verify, {
        "verify_tls": verify_tls,
        "allow_insecure_http": allow_insecure_http,
        "ca_bundle": {"source": source, "sha256": digest},
        "proxy": _proxy(base_url, env),
    })
