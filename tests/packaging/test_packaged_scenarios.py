"""The default scenarios are found installed or in a checkout, and are named alike in receipts."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import _resources


def test_checkout_finds_the_repository_scenarios() -> None:
    assert (_resources.scenarios_dir() / "release-gate.yaml").is_file()


def test_installed_layout_is_preferred_and_named_as_a_checkout_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site-packages" / "runner"
    (package / "_scenarios" / "sub").mkdir(parents=True)
    (tmp_path / "site-packages" / "scenarios").mkdir()
    monkeypatch.setattr(_resources, "_PACKAGE", package)
    assert _resources.scenarios_dir() == package / "_scenarios"
    packaged = package / "_scenarios" / "release-gate.yaml"
    assert _resources.packaged_receipt_name(packaged) == "scenarios/release-gate.yaml"
    assert _resources.packaged_receipt_name(package / "_scenarios" / "sub" / "x.yaml") == "scenarios/sub/x.yaml"


def test_files_outside_the_package_are_not_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path / "runner")
    assert _resources.packaged_receipt_name(tmp_path / "scenarios" / "release-gate.yaml") is None
    assert _resources.packaged_receipt_name(Path("scenarios/release-gate.yaml")) is None


def test_no_scenarios_anywhere_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path / "runner")
    with pytest.raises(FileNotFoundError, match="no scenarios directory"):
        _resources.scenarios_dir()
