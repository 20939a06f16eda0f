"""The precompiled SUMMARY.md template: used only while it is the template's own code, same bytes either way."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from runner.receipts import _summary_md, render

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
COMPILED = Path(render.__file__).with_name("_summary_md.py")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    render._environment.cache_clear()
    render._template.cache_clear()
    yield
    render._environment.cache_clear()
    render._template.cache_clear()


def _golden_summaries() -> list[tuple[dict[str, object], str]]:
    return [(json.loads((GOLDEN / name / "SUMMARY.json").read_text(encoding="utf-8")),
             (GOLDEN / name / "SUMMARY.md").read_text(encoding="utf-8")) for name in ("dry-run", "live")]


@pytest.mark.skipif(_summary_md.JINJA2_VERSION != jinja2.__version__,
                    reason=f"_summary_md.py was written by jinja2 {_summary_md.JINJA2_VERSION}: run `make templates`")
def test_the_shipped_module_is_the_template_compiled_and_runs_use_it() -> None:
    assert COMPILED.read_text(encoding="utf-8") == render.compiled_source(), "run `make templates`"
    assert render._template().root_render_func.__module__ == "runner.receipts._summary_md"


def test_a_stale_module_is_not_used_and_the_bytes_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    precompiled = [render.render_markdown(summary) for summary, _ in _golden_summaries()]
    render._template.cache_clear()
    monkeypatch.setattr(_summary_md, "SOURCE_SHA256", "0" * 64)
    compiled_now = [render.render_markdown(summary) for summary, _ in _golden_summaries()]
    assert render._template().root_render_func.__module__ != "runner.receipts._summary_md"
    assert compiled_now == precompiled == [markdown for _, markdown in _golden_summaries()]


def test_an_edited_template_renders_the_edit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    edited = tmp_path / "templates"
    shutil.copytree(render.templates_dir(), edited)
    template = edited / render.TEMPLATE
    template.write_text(template.read_text(encoding="utf-8") + "Edited by hand.\n", encoding="utf-8")
    monkeypatch.setattr(render, "templates_dir", lambda: edited)
    summary, markdown = _golden_summaries()[1]
    assert render.render_markdown(summary) == markdown + "Edited by hand.\n"
    assert "Edited by hand." not in COMPILED.read_text(encoding="utf-8")


def test_another_jinja2_compiles_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_summary_md, "JINJA2_VERSION", "0.0")
    summary, markdown = _golden_summaries()[0]
    assert render.render_markdown(summary) == markdown
    assert render._template().root_render_func.__module__ != "runner.receipts._summary_md"


def test_a_field_named_like_a_dict_method_reads_the_field_and_methods_still_work() -> None:
    env = render._environment()
    rendered = env.from_string("{{ d.items }} {{ d.get('x') }} {{ d.keys() | list | length }}").render(
        d={"items": "field", "x": 1})
    assert rendered == "field 1 2"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ d.missing }}").render(d={})
