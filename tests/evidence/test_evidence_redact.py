"""The one redactor, by property: a known secret never survives, in any form it knows, at any depth."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from runner.evidence.redact import _MAX_KEYS, MAX_DEPTH, REDACTED, TOO_DEEP, Redactor

# Lowercase and digits: a secret can then never be part of the marker "[REDACTED]" that replaces it.
SECRETS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=4, max_size=40).filter(
    lambda s: s.strip() == s
)
TEXT = st.text(max_size=60)
# Characters no form of a secret (raw, URL-quoted, base64) uses, so they cannot extend one.
SEPARATORS = st.text(alphabet=" :;,!", max_size=5)


def _forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(raw).decode().rstrip("="),
            base64.urlsafe_b64encode(raw).decode().rstrip("=")]


@given(SECRETS, TEXT, TEXT)
def test_a_secret_anywhere_in_text_is_gone(secret: str, before: str, after: str) -> None:
    shown = Redactor([secret]).text(before + secret + after)
    assert secret not in shown and REDACTED in shown


@given(SECRETS, SEPARATORS, SEPARATORS, st.integers(0, 4))
def test_every_encoded_form_is_gone(secret: str, before: str, after: str, which: int) -> None:
    form = _forms(secret)[which]
    assert form not in Redactor([secret]).text(before + form + after)


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), TEXT,
                        st.decimals(allow_nan=False, allow_infinity=False, places=6),
                        st.floats(allow_nan=False, allow_infinity=False))


def _trees(secret: str) -> st.SearchStrategy[Any]:
    leaves = st.one_of(JSON_LEAVES, st.just(secret), TEXT.map(lambda t: t + secret))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(alphabet="abcxyz", max_size=5), inner, max_size=4)),
        max_leaves=20)


@given(SECRETS.flatmap(lambda s: st.tuples(st.just(s), _trees(s))))
def test_a_json_tree_comes_out_secret_free_float_free_and_serialisable(case: tuple[str, Any]) -> None:
    secret, tree = case
    shown = Redactor([secret]).value(tree)
    json.dumps(shown, allow_nan=False)  # serialisable

    def leaves(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [*node] + [x for v in node.values() for x in leaves(v)]
        if isinstance(node, list):
            return [x for v in node for x in leaves(v)]
        return [node]

    # Every key and every string or number value is free of the secret (JSON's own true/false/null are not values
    # that could carry it: a secret like "fals" matched the serialised text, never a value).
    assert not any(secret in str(leaf) for leaf in leaves(shown) if not isinstance(leaf, bool) and leaf is not None)
    assert not any(isinstance(leaf, (float, Decimal)) for leaf in leaves(shown))


@given(st.sampled_from(["token", "rollbackToken", "X-Api-Key", "password", "session_cookie", "csrf"]), TEXT)
def test_secret_named_fields_are_redacted_by_name(key: str, value: str) -> None:
    assert Redactor().value({key: value, "plain": value}) == {key: REDACTED, "plain": value}
    assert Redactor().value({key: None}) == {key: None}


def test_a_secret_used_as_a_key_is_redacted() -> None:
    """Found by the tree property under Python 3.10: keys were kept as they came."""
    shown = Redactor(["bxycz"]).value({"bxycz": None, "a-bxycz": {"bxycz": 1}})
    assert shown == {REDACTED: None, f"a-{REDACTED}": {REDACTED: 1}}


def test_short_secrets_are_not_redacted_and_deep_trees_are_cut() -> None:
    assert Redactor(["abc"]).text("abc") == "abc"  # too short to redact without mangling ordinary text
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    shown = Redactor().value(deep)
    depth = 0
    while isinstance(shown, list):
        shown, depth = shown[0], depth + 1
    assert shown == TOO_DEEP and depth == MAX_DEPTH + 1


def test_urls_name_their_input_not_the_host() -> None:
    redactor = Redactor([], {"https://tenant.example": "AXIS_BASE_URL"})
    assert redactor.url("https://tenant.example/api/x?y=1") == "$AXIS_BASE_URL/api/x?y=1"
    assert redactor.url("https://tenant.example.evil/api") == "https://tenant.example.evil/api"


@given(st.integers(-(2**70), 2**70), st.data())
def test_a_numeric_secret_inside_a_json_number_is_redacted(number: int, data: st.DataObject) -> None:
    text = str(number)
    start = data.draw(st.integers(0, max(0, len(text) - 4)))
    secret = text[start:start + data.draw(st.integers(4, 12))]
    if len(secret) < 4:
        secret = text.rjust(4, "0")  # a PIN-like secret longer than the number: never inside it
        assert Redactor([secret]).value([number]) == [number]
    else:
        assert Redactor([secret]).value({"n": number, "m": [number]}) == {"n": REDACTED, "m": [REDACTED]}
    assert Redactor(["abcd-token"]).value(number) == number  # no all-digit form: integers pass untouched


def test_keys_stay_redacted_past_the_remembered_ones() -> None:
    """The redactor remembers a bounded number of keys; the ones after the bound are redacted all the same."""
    redactor = Redactor(["bxycz"])
    answer = {f"k{i}-bxycz": i for i in range(6000)} | {"rollbackToken": "t", "plain": "bxycz"}
    for _ in range(2):  # the second pass reads remembered keys
        shown = redactor.value(answer)
        assert not any("bxycz" in key for key in shown) and len(shown) == len(answer)
        assert shown["rollbackToken"] == REDACTED and shown["plain"] == REDACTED
    assert len(redactor._keys) == _MAX_KEYS  # a hostile answer's unique keys do not grow it without bound
