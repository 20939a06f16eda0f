"""runner.transport: which CA bundle and proxy a run uses, as the manifest records them (issue 8.7)."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import certifi
import pytest

from runner.transport import TransportError, resolve_transport

BASE = "https://axis.example.com"


def _shown(env: dict[str, str], ca_bundle: Path | None = None, verify_tls: bool = True) -> dict[str, object]:
    return resolve_transport(base_url=BASE, env=env, ca_bundle=ca_bundle, verify_tls=verify_tls,
                             allow_insecure_http=False).shown


@pytest.mark.parametrize(("env", "proxy"), [
    ({}, {"source": None, "origin": None}),
    ({"https_proxy": "http://p.example"}, {"source": "https_proxy", "origin": "http://p.example:80"}),
    ({"HTTP_PROXY": "http://p.example:1"}, {"source": None, "origin": None}),  # another scheme's proxy
    ({"ALL_PROXY": "socks5://u:pw@[::1]"}, {"source": "ALL_PROXY", "origin": "socks5://[::1]:1080"}),
    ({"HTTPS_PROXY": "https://p.example:8443", "NO_PROXY": "*"}, {"source": None, "origin": None}),
    ({"HTTPS_PROXY": "https://p.example:8443", "no_proxy": "other.example, example.com"},
     {"source": None, "origin": None}),
    ({"HTTPS_PROXY": "https://p.example:8443", "NO_PROXY": "xample.com"},
     {"source": "HTTPS_PROXY", "origin": "https://p.example:8443"}),  # a suffix that is not a domain does not count
])
def test_the_proxy_is_the_one_the_base_url_goes_through_by_origin(env: dict[str, str],
                                                                   proxy: dict[str, str | None]) -> None:
    assert _shown(env)["proxy"] == proxy


def test_the_flag_wins_over_the_environment_and_the_bundle_verifies(tmp_path: Path) -> None:
    flag, env_file = tmp_path / "flag.pem", tmp_path / "env.pem"
    shutil.copyfile(certifi.where(), flag)
    env_file.write_text("not used")
    transport = resolve_transport(base_url=BASE, env={"SSL_CERT_FILE": str(env_file)}, ca_bundle=flag,
                                  verify_tls=True, allow_insecure_http=False)
    assert isinstance(transport.verify, ssl.SSLContext) and transport.verify.get_ca_certs()
    assert transport.shown["ca_bundle"]["source"] == "flag"  # type: ignore[index]
    assert str(tmp_path) not in repr(transport)


def test_verification_off_stays_off_with_a_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    shutil.copyfile(certifi.where(), bundle)
    transport = resolve_transport(base_url=BASE, env={}, ca_bundle=bundle, verify_tls=False, allow_insecure_http=False)
    assert transport.verify is False and transport.shown["verify_tls"] is False


def test_a_bundle_that_is_not_a_file_is_refused_by_its_source(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match=r"^REQUESTS_CA_BUNDLE .* cannot be read"):
        _shown({"REQUESTS_CA_BUNDLE": str(tmp_path)})
