"""Write runner/receipts/_summary_md.py, the precompiled SUMMARY.md template (``make templates``).

Run it after editing ``runner/receipts/templates/summary.md.j2`` or upgrading jinja2; until then
the runner compiles the template at each run (correct, ~20 ms slower) and a test says so.
"""

from __future__ import annotations

from pathlib import Path

from runner.receipts.render import compiled_source

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "runner" / "receipts" / "_summary_md.py"
    target.write_text(compiled_source(), encoding="utf-8")
    print(f"wrote {target}")
