# From seed 000_66c3d0a1165d2abf.txt, section "Production Pattern (Timeouts, Retries, Error Handling)".
# Everything below these comment lines is verbatim from the seed; test_live_seed_examples
# checks its sha256: 3339a14a28efef4d1d4e95ba39c327d9d2cbc233edaf95e0a9da4fa278b995c2
# ruff: noqa: I001  (the seed's import layout, kept verbatim)
# fmt: off
import asyncio
import os
from velikey import AegisClient
from velikey.exceptions import VeliKeyError

async def run() -> None:
    client = AegisClient(
        api_key=None,
        session_cookie=os.environ["AXIS_SESSION_COOKIE"],
        base_url=os.environ.get("AXIS_BASE_URL", "https://axis.velikey.com"),
        timeout=30.0,
        max_retries=3,
    )
    try:
        score = await client.monitoring.get_health_score()
        if score.overall_score < 70:
            raise RuntimeError("Health score below rollout threshold")
        print("overall_score:", score.overall_score)
    except VeliKeyError as err:
        print("sdk_error:", err)
        raise
    finally:
        await client.close()

asyncio.run(run())
