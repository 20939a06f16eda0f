"""The one redactor: every header, URL, body and message bound for a receipt passes through it.

Secrets are removed two ways: by name (headers such as ``Cookie``; JSON keys such as
``rollbackToken``) and by value (every secret the run knows, also URL-encoded and
base64-encoded), so a server that echoes a cookie back cannot smuggle it into evidence.
It also makes values receipt-safe: decimals become canonical strings, never floats.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus

from runner.canonical import decimal_str
from velikey.operations import SECRET_HEADERS as SDK_SECRET_HEADERS

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[REDACTED]"
# The SDK's own secret headers, plus ones a tenant or proxy may add to answers.
SECRET_HEADERS = SDK_SECRET_HEADERS | {"x-api-key", "x-csrf-token"}
SECRET_KEY = re.compile(r"token|secret|password|passwd|cookie|authorization|api[_-]?key|csrf", re.IGNORECASE)
MIN_SECRET_LENGTH = 4
MAX_DEPTH = 64
MAX_INT_BITS = 256
MAX_PLAIN_DIGITS = 100
TOO_DEEP = "[nested too deep]"
_INT_CHARS = frozenset("-0123456789")
_MAX_KEYS = 4096


def _forms(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


class Redactor:
    """Scrubs known secret values and secret-named fields; maps live URLs to their env-variable names."""

    def __init__(self, secrets: Iterable[str | None] = (), urls: Mapping[str, str] | None = None) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret.strip()) >= MIN_SECRET_LENGTH:
                forms |= _forms(secret.strip())
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self._urls = sorted(((u.rstrip("/"), name) for u, name in (urls or {}).items() if u), reverse=True)
        # Only a form made of digits and '-' can occur in an integer's text: without one, integers pass untouched.
        self._numeric = any(set(form) <= _INT_CHARS for form in self._secrets)
        # Answers repeat their keys: each key's redacted text and whether it names a secret, remembered (bounded).
        self._keys: dict[str, tuple[str, bool]] = {}

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def url(self, url: str) -> str:
        """``https://tenant/api/x`` → ``$AXIS_BASE_URL/api/x``: receipts name the input, not the host."""
        for prefix, name in self._urls:
            if url == prefix or url.startswith(prefix + "/") or url.startswith(prefix + "?"):
                url = "$" + name + url[len(prefix):]
                break
        return self.text(url)

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        return {
            name.lower(): REDACTED if name.lower() in SECRET_HEADERS else self.text(value)
            for name, value in headers
        }

    def _key(self, key: str) -> tuple[str, bool]:
        known = self._keys.get(key)
        if known is None:
            known = (self.text(key), SECRET_KEY.search(key) is not None)
            if len(self._keys) < _MAX_KEYS:
                self._keys[key] = known
        return known

    def value(self, obj: Any, depth: int = 0) -> Any:
        """A JSON tree made receipt-safe: secret fields and values redacted, numbers exact strings.

        A hostile answer cannot blow the receipts up: nesting past ``MAX_DEPTH`` and numbers of
        absurd magnitude are summarised, so validation never recurses without bound and a
        10-byte ``1e9999999`` does not become a 10 MB decimal string.
        """
        if depth > MAX_DEPTH:
            return TOO_DEEP
        kind = type(obj)
        if kind is str:
            return self.text(obj)
        if kind is dict or isinstance(obj, Mapping):
            # Keys too: an answer keyed by a token ({"<token>": {...}}) must not carry it into a receipt.
            redacted: dict[str, Any] = {}
            for k, v in obj.items():
                key, secret = self._key(str(k))
                redacted[key] = REDACTED if secret and v is not None else self.value(v, depth + 1)
            return redacted
        if kind is list or isinstance(obj, (list, tuple)):
            return [self.value(v, depth + 1) for v in obj]
        if isinstance(obj, bool) or obj is None:
            return obj
        if isinstance(obj, int):
            if obj.bit_length() > MAX_INT_BITS:
                return self.value(Decimal(obj))
            # A numeric secret (a PIN-like token) echoed back as a JSON number is still a secret.
            return REDACTED if self._numeric and self.text(str(obj)) != str(obj) else obj
        if isinstance(obj, Decimal):
            shown = decimal_str(obj) if obj.is_finite() and abs(obj.adjusted()) <= MAX_PLAIN_DIGITS else str(obj)
            return self.text(shown)
        if isinstance(obj, float):
            return self.value(Decimal(repr(obj)))
        return self.text(str(obj))
