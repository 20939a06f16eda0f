"""jsonschema-rs (the fast path) gives the reference validator's verdict on valid and invalid receipts.

``runner.receipts.validate`` trusts jsonschema-rs only when it says "valid" and asks the
reference (``jsonschema``) otherwise, so the one thing that must never happen is a document
the reference refuses passing the fast path. The corpus is every committed receipt (goldens,
``receipts/example/``) and mutants of each: a key dropped, a value of the wrong type, an
unknown key, an out-of-range or off-pattern value, at every place in the tree.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.receipts.validate import _fast_valid, _validators, document_problems, kind_for

ROOT = Path(__file__).resolve().parents[2]
SETS = [ROOT / "tests" / "golden" / "dry-run", ROOT / "tests" / "golden" / "live", ROOT / "receipts" / "example"]
# Mutated places per document: every place of the small ones, an even spread over the large summaries.
PLACES = 80


def _documents() -> list[tuple[str, str, Any]]:
    found = []
    for folder in SETS:
        for path in sorted(folder.rglob("*.json")):
            name = path.relative_to(folder).as_posix()
            kind = kind_for(name)
            seen = {(n.split("/", 1)[1], k) for n, k, _ in found}
            if kind is not None and (name, kind) not in seen:  # receipts/example adds what the goldens lack
                found.append((f"{folder.name}/{name}", kind, json.loads(path.read_text(encoding="utf-8"))))
    return found


def _places(node: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield where
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _places(child, (*where, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _places(child, (*where, index))


def _wrong(value: Any) -> list[Any]:
    """Values of another type (and edge values of the same type) to put where ``value`` was."""
    if isinstance(value, bool):
        return [0, "true", None]
    if isinstance(value, int):
        return [-1, str(value), True, None, 2**70]
    if isinstance(value, str):
        return ["", 7, None, value + " x", "sha256:" + "g" * 64, "UPPER", value[:-1]]
    if isinstance(value, list):
        return [{}, "[]", [None], value + value[:1]]
    if isinstance(value, dict):
        return [[], "{}", None]
    return ["null"]


def _mutants(doc: Any) -> Iterator[Any]:
    places = list(_places(doc))[1:]
    for where in places[:: max(1, len(places) // PLACES)]:
        parent = doc
        for part in where[:-1]:
            parent = parent[part]
        last = where[-1]
        for value in _wrong(parent[last]):
            yield _replaced(doc, where, value)
        if isinstance(parent, dict):
            clone = copy.deepcopy(doc)
            holder = clone
            for part in where[:-1]:
                holder = holder[part]
            del holder[last]
            yield clone
        if isinstance(parent[last], dict):
            yield _replaced(doc, where, {**parent[last], "unexpected_key": 1})


def _replaced(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    clone = copy.deepcopy(doc)
    holder = clone
    for part in where[:-1]:
        holder = holder[part]
    holder[where[-1]] = value
    return clone


def _reference_valid(kind: str, doc: Any) -> bool:
    return next(iter(_validators()[kind].iter_errors(doc)), None) is None


DOCUMENTS = _documents()


def test_the_corpus_holds_every_kind_a_run_writes() -> None:
    assert {kind for _, kind, _ in DOCUMENTS} >= {"summary", "run-manifest", "result", "evidence", "timings"}


@pytest.mark.parametrize(("name", "kind", "doc"), DOCUMENTS, ids=[name for name, _, _ in DOCUMENTS])
def test_fast_and_reference_agree_on_a_receipt_and_its_mutants(name: str, kind: str, doc: Any) -> None:
    assert _fast_valid(kind, doc) and _reference_valid(kind, doc), name
    verdicts = {"agree": 0, "both invalid": 0}
    for mutant in _mutants(doc):
        fast, reference = _fast_valid(kind, mutant), _reference_valid(kind, mutant)
        # The one unsafe direction, and then any disagreement at all on this corpus.
        assert not (fast and not reference), json.dumps(mutant)[:500]
        assert fast == reference, json.dumps(mutant)[:500]
        verdicts["agree" if fast else "both invalid"] += 1
    assert verdicts["both invalid"] > 0  # the mutants do reach the schema


def test_a_document_the_fast_path_refuses_gets_the_reference_verdict_and_wording() -> None:
    # Python's `$` also matches before a final newline, Rust's does not: jsonschema-rs refuses what
    # jsonschema accepts. The fast path is only ever stricter, so the reference's verdict stands.
    _, kind, doc = next(d for d in DOCUMENTS if d[1] == "result")
    name = next(iter(doc["files"]))
    doc = _replaced(doc, ("files", name), doc["files"][name] + "\n")
    assert not _fast_valid(kind, doc)
    assert _reference_valid(kind, doc)
    assert document_problems(kind, doc) == []
    bad = _replaced(doc, ("exit_code",), "zero")
    assert document_problems(kind, bad)[0][0] == "$.exit_code"
