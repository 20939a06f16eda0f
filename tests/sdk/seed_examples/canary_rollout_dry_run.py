# From seed 000_66c3d0a1165d2abf.txt, section "Canary Rollout and Rollback (Dry-Run)".
# Everything below these comment lines is verbatim from the seed; test_live_seed_examples
# checks its sha256: 40513acc068c478bce1e725eba3f491c56e4e2c00c050be3d8b6a652142852eb
# ruff: noqa: I001  (the seed's import layout, kept verbatim)
# fmt: off
import asyncio
import os
from velikey import AegisClient

POLICY_ID = os.environ["AEGIS_POLICY_ID"]

async def plan_apply() -> None:
    client = AegisClient(
        api_key=None,
        session_cookie=os.environ["AXIS_SESSION_COOKIE"],
        base_url=os.environ.get("AXIS_BASE_URL", "https://axis.velikey.com"),
    )
    try:
        plan = await client.rollouts.plan(
            POLICY_ID,
            canary_percent=5,
            stabilization_window_s=300,
            dry_run=True,
            explain=True,
        )
        plan_id = plan.get("data", {}).get("plan_id") or plan.get("data", {}).get("planId")
        if plan_id:
            apply_result = await client.rollouts.apply(plan_id, dry_run=True, explain=True)
            print("apply_dry_run:", apply_result.get("success"))
        rollback_token = os.environ.get("AEGIS_ROLLBACK_TOKEN")
        if rollback_token:
            rollback = await client.rollouts.rollback(rollback_token, confirm=True, explain=True)
            print("rollback_dry_run:", rollback.get("success"))
    finally:
        await client.close()

asyncio.run(plan_apply())
