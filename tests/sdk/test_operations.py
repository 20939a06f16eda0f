"""The operations data is the one definition: builders, routes, resource methods and parsers follow it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

import httpx
import pytest

from velikey import AegisClient
from velikey._results import RESULT_PARSERS
from velikey.operations import (
    EFFECTFUL,
    OPERATIONS,
    REQUIRED,
    Operation,
    Param,
    RequestSpec,
    build,
    operation,
)
from velikey.resources import Resource

NAMES = sorted(OPERATIONS)


def client_method(client: Any, name: str) -> Callable[..., Any]:
    """The typed method users call for operation ``name``: ``rollouts.plan`` → ``client.rollouts.plan``."""
    target = client
    for part in name.split("."):
        target = getattr(target, part)
    return target  # type: ignore[no-any-return]


def a_value(param: Param, variant: int) -> Any:
    """A value of the param's type; ``variant`` 0 and 1 differ, so both sides of a flag are built."""
    classes = param.classes or (dict,)
    if bool in classes:
        return variant == 1
    if int in classes:
        return 7 + variant
    if str in classes:
        return f"{param.name}-{variant}"
    return {"events": [variant]}


class Recorder:
    """A ``Caller`` that records which operation a resource method ran, with which arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def result(self, operation: str, /, **kwargs: Any) -> Any:
        self.calls.append((operation, kwargs))
        return {}


def test_every_operation_has_a_parser_and_a_typed_method_and_nothing_else_does() -> None:
    assert set(RESULT_PARSERS) == set(OPERATIONS)
    client = AegisClient(base_url="http://axis.test", env={})
    methods = {"get_health"}
    for namespace, resource in vars(client).items():
        if isinstance(resource, Resource):
            methods |= {f"{namespace}.{m}" for m, _ in inspect.getmembers(type(resource), inspect.iscoroutinefunction)}
    # Page helpers (``policies.page``, ``monitoring.alerts_page``) are views over a list operation, not operations.
    pages = {"policies.page", "monitoring.alerts_page"}
    assert methods - pages == set(OPERATIONS)
    asyncio.run(client.close())


@pytest.mark.parametrize("name", NAMES)
def test_resource_signature_is_the_param_data(name: str) -> None:
    client = AegisClient(base_url="http://axis.test", env={})
    method = client_method(client, name)
    signature = inspect.signature(method)
    hints = get_type_hints(method)
    seen = [
        (p.name, REQUIRED if p.default is inspect.Parameter.empty else p.default, hints[p.name], p.kind)
        for p in signature.parameters.values()
    ]
    expected = [
        (p.name, p.default, p.type, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in operation(name).params
    ]
    assert seen == expected
    asyncio.run(client.close())


@pytest.mark.parametrize("name", sorted(set(OPERATIONS) - {"get_health"}))
def test_resource_methods_forward_every_argument_to_their_operation(name: str) -> None:
    recorder = Recorder()
    client = AegisClient(base_url="http://axis.test", env={})
    namespace, method = name.split(".")
    resource = type(getattr(client, namespace))(recorder)
    given = {p.name: a_value(p, 1) for p in operation(name).params}
    asyncio.run(getattr(resource, method)(**given))
    assert recorder.calls == [(name, given)]
    asyncio.run(client.close())


@pytest.mark.parametrize("name", NAMES)
def test_builders_take_exactly_the_params_and_restate_no_default(name: str) -> None:
    op = operation(name)
    parameters = inspect.signature(op.builder).parameters.values()
    assert [p.name for p in parameters] == [p.name for p in op.params]
    assert all(p.default is inspect.Parameter.empty for p in parameters)


def sent_routes(specs: tuple[RequestSpec, ...]) -> set[tuple[str, str]]:
    routes = {(spec.method, spec.path) for spec in specs}
    return routes | {(spec.method, spec.fallback_path) for spec in specs if spec.fallback_path}


@pytest.mark.parametrize("name", NAMES)
def test_routes_are_exactly_what_build_sends(name: str) -> None:
    op = operation(name)
    produced: set[tuple[str, str]] = set()
    for variant in (0, 1):
        produced |= sent_routes(build(name, **{p.name: a_value(p, variant) for p in op.params}))
    produced |= sent_routes(build(name, **{p.name: a_value(p, 0) for p in op.params if p.required}))
    # A route with a {name} segment stands for the paths it matches.
    assert all(op.touches(route) for route in produced)
    covered = {mine for mine in op.routes if any(Operation(name, (), op.builder, (mine,)).touches(r) for r in produced)}
    assert covered == set(op.routes)
    assert len(op.routes) == len(set(op.routes))


def test_the_metered_operations_follow_from_their_routes() -> None:
    metered = (("GET", "/api/usage/summary"), ("POST", "/api/telemetry/ingest"))
    names = {op.name for op in OPERATIONS.values() if any(op.touches(route) for route in metered)}
    assert names == {"billing.get_usage", "monitoring.get_health_score", "telemetry.ingest"}


def test_defaults_come_from_the_data() -> None:
    (plan,) = build("rollouts.plan", policy_id="p1")
    assert plan.json == {
        "policyId": "p1",
        "canaryPercent": 5,
        "stabilizationWindowS": 300,
        "dryRun": True,
        "explain": False,
    }
    usage, alerts = build("monitoring.get_health_score")
    assert (usage, alerts) == build("billing.get_usage") + build("monitoring.get_active_alerts")
    assert usage.params == (("period", "current"),) and alerts.params == (("resolved", "false"), ("limit", "100"))


def test_unknown_and_missing_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'dryrun'"):
        build("rollouts.plan", policy_id="p1", dryrun=True)
    with pytest.raises(TypeError, match="missing required argument.*'policy_id'"):
        build("rollouts.plan")
    with pytest.raises(TypeError, match="get_health.*'x'"):
        build("get_health", x=1)
    with pytest.raises(KeyError):
        build("rollouts.aply")


def test_effectful_operations_say_so_from_their_bound_arguments() -> None:
    assert set(EFFECTFUL) == {"rollouts.apply", "rollouts.rollback"}
    assert not EFFECTFUL["rollouts.apply"]({"plan_id": "p"})  # dry_run defaults to true
    assert EFFECTFUL["rollouts.apply"]({"plan_id": "p", "dry_run": False})
    assert EFFECTFUL["rollouts.rollback"]({"rollback_token": "t"})  # confirm defaults to true
    assert not EFFECTFUL["rollouts.rollback"]({"rollback_token": "t", "confirm": False})
    assert not operation("rollouts.plan").is_effectful({"policy_id": "p", "dry_run": False})


def test_param_types_are_checked_when_the_table_is_built() -> None:
    assert Param("x", str | None).classes == (str, type(None))
    assert Param("x", Any).classes is None
    assert Param("x", int, 3).required is False and Param("x", int).required is True
    with pytest.raises(TypeError, match="unsupported type"):
        Param("x", list[int])
    with pytest.raises(TypeError, match="unsupported type"):
        Operation("x", (Param("y", "str"),), lambda y: (), routes=())


def test_health_score_sends_what_its_data_says() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.url.path == "/api/usage/summary":
            return httpx.Response(200, json={"usage": {"agents": 1, "telemetryDays": 1}})
        return httpx.Response(200, json={"alerts": []})

    async def go() -> int:
        transport = httpx.MockTransport(handler)
        async with AegisClient(session_cookie="s", base_url="http://axis.test", transport=transport) as c:
            return (await c.monitoring.get_health_score()).overall_score

    assert asyncio.run(go()) == 100
    assert tuple(seen) == operation("monitoring.get_health_score").routes
