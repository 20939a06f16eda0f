"""Input resolution: flag, then env, then the embedded server, then the default; secrets stay names."""

from __future__ import annotations

import pytest

from runner.inputs import DEFAULT_BASE_URL, INPUTS, auth_kind, resolve_inputs


def test_flags_beat_env_beat_embedded_beat_the_default() -> None:
    env = {"AXIS_BASE_URL": "https://env.example", "AEGIS_POLICY_ID": "pol-env"}
    embedded = {"base_url": "http://127.0.0.1:1", "policy_id": "pol-emb", "payload_url": "http://127.0.0.1:1/i"}
    got = resolve_inputs(env, {"base_url": "https://flag.example"}, embedded)
    assert (got["base_url"].value, got["base_url"].source) == ("https://flag.example", "flag:--base-url")
    assert (got["policy_id"].value, got["policy_id"].source) == ("pol-env", "env:AEGIS_POLICY_ID")
    assert (got["payload_url"].value, got["payload_url"].source) == ("http://127.0.0.1:1/i", "embedded")
    bare = resolve_inputs({}, {})
    assert (bare["base_url"].value, bare["base_url"].source) == (DEFAULT_BASE_URL, "default")
    assert not bare["policy_id"].provided and bare["policy_id"].source is None


def test_blank_values_count_as_absent() -> None:
    got = resolve_inputs({"AEGIS_POLICY_ID": "  ", "AXIS_SESSION_COOKIE": ""}, {"policy_id": ""})
    assert not got["policy_id"].provided and not got["session"].provided


def test_the_session_is_only_the_name_of_its_source() -> None:
    got = resolve_inputs({"AXIS_SESSION_COOKIE": "session=s3cret-value"}, {})
    assert (got["session"].value, got["session"].source) == ("AXIS_SESSION_COOKIE", "env:AXIS_SESSION_COOKIE")
    assert "s3cret" not in repr(got)
    embedded = resolve_inputs({}, {}, {"session": "session=from-server"})["session"]
    assert (embedded.value, embedded.source) == ("embedded", "embedded")


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({"VELIKEY_API_KEY": "k", "AXIS_SESSION_COOKIE": "c"}, "AXIS_SESSION_COOKIE"),
        ({"VELIKEY_API_KEY": "k", "AXIS_SESSION_COOKIE_FILE": "f"}, "AXIS_SESSION_COOKIE_FILE"),
        ({"VELIKEY_API_KEY": "k"}, "VELIKEY_API_KEY"),
        ({"AXIS_AUTH_EMAIL": "e", "AXIS_AUTH_PASSWORD": "p"}, "AXIS_AUTH_EMAIL+AXIS_AUTH_PASSWORD"),
        ({"AXIS_AUTH_EMAIL": "e"}, None),
        ({}, None),
    ],
)
def test_auth_kind_follows_the_sdks_order_without_reading_anything(env: dict[str, str], kind: str | None) -> None:
    assert auth_kind(env) == kind


def test_every_input_says_how_to_provide_it() -> None:
    for spec in INPUTS.values():
        assert spec.env and spec.how and spec.reason
        assert spec.flag is None or spec.flag in spec.how
        assert all(name in spec.how for name in spec.env)
