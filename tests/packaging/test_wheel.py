"""The built wheel carries what an installed runner needs, and PEP 639 metadata; nothing of the checkout else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel, built once from this checkout as a release would (isolated build, hatchling)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    [built] = out.glob("velikey_e2e-*.whl")
    return zipfile.ZipFile(built)


def _metadata(wheel: zipfile.ZipFile) -> Message:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode("utf-8"))


def test_data_files_are_packaged(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    checkout = {
        **{f"runner/_scenarios/{p.name}": p for p in (ROOT / "scenarios").glob("*.yaml")},
        **{f"runner/_schemas/{p.name}": p for p in (ROOT / "schemas").glob("*.json")},
        **{f"runner/receipts/templates/{p.name}": p for p in (ROOT / "runner/receipts/templates").iterdir()},
    }
    assert "runner/_scenarios/release-gate.yaml" in checkout
    assert "runner/_schemas/attestation.schema.json" in checkout
    for member, source in checkout.items():
        assert wheel.read(member) == source.read_bytes(), member
    assert {"runner/py.typed", "velikey/py.typed"} <= names
    [license_file] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()


def test_only_the_packages_are_shipped(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"runner", "velikey"}
    assert not [n for n in wheel.namelist() if "__pycache__" in n or n.endswith(".pyc")]


def test_metadata_is_pep_639_with_urls_and_classifiers(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    assert tuple(int(part) for part in meta["Metadata-Version"].split(".")) >= (2, 4), "PEP 639 needs 2.4"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["License"] is None, "PEP 639: the expression replaces the free-text field"
    classifiers = set(meta.get_all("Classifier") or ())
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)} <= classifiers
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")], "PEP 639 forbids license classifiers"
    urls = {entry.split(",")[0] for entry in meta.get_all("Project-URL") or ()}
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= urls
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("cryptography") for r in requires)
    httpx = next(Requirement(r) for r in requires if Requirement(r).name == "httpx")
    assert not httpx.specifier.contains("1.0") and httpx.specifier.contains("0.28.1"), "httpx<1: 1.0 breaks the API"
    entry_points = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "velikey-e2e = runner._entry:main" in wheel.read(entry_points[0]).decode("utf-8")
