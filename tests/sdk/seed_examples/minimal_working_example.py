# From seed 000_66c3d0a1165d2abf.txt, section "Minimal Working Example".
# Everything below these comment lines is verbatim from the seed; test_live_seed_examples
# checks its sha256: fcf7e1f05a53e82c0b95aa444e7d5d49a007bb9f541b484b03ffed47d2e39adb
# ruff: noqa: I001  (the seed's import layout, kept verbatim)
# fmt: off
import asyncio
import os
from velikey import AegisClient

async def main() -> None:
    client = AegisClient(
        api_key=None,
        session_cookie=os.environ["AXIS_SESSION_COOKIE"],
        base_url=os.environ.get("AXIS_BASE_URL", "https://axis.velikey.com"),
    )
    try:
        health = await client.get_health()
        policies = await client.policies.list(active_only=True)
        usage = await client.billing.get_usage(period="current")
        print("health:", health.get("status"))
        print("policies:", len(policies))
        print("telemetry_gb:", usage.get("usage", {}).get("telemetryDataGB"))
    finally:
        await client.close()

asyncio.run(main())
