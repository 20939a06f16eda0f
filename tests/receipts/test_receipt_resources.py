"""Schemas and templates are found installed (runner/_schemas) or from a checkout (schemas/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import _resources


def test_checkout_layout_finds_the_files() -> None:
    assert (_resources.schemas_dir() / "summary.schema.json").is_file()
    assert (_resources.schemas_dir() / "reason-codes.json").is_file()
    assert (_resources.templates_dir() / "summary.md.j2").is_file()


def test_installed_layout_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "runner"
    (package / "_schemas").mkdir(parents=True)
    (tmp_path / "site-packages" / "schemas").mkdir()
    monkeypatch.setattr(_resources, "_PACKAGE", package)
    assert _resources.schemas_dir() == package / "_schemas"


def test_missing_schemas_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path / "runner")
    with pytest.raises(FileNotFoundError, match="no schemas directory"):
        _resources.schemas_dir()
