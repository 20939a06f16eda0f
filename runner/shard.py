"""``--shard K/N``: which scenarios one of N CI jobs runs, decided by scenario id alone.

The rule is a round robin over the ids in code-point order: the scenario at position ``i``
(0-based) of the sorted ids belongs to shard ``i mod N + 1``. Every job that loads the same
files computes the same split without talking to the others, shard sizes differ by at most
one, and neither the file order nor the machine changes it. Adding a scenario may move others
to another shard; the merged set does not care which shard ran what.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Shard", "ShardError"]

_SPEC = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")


class ShardError(ValueError):
    """A ``--shard`` value that is not ``K/N`` with ``1 <= K <= N``."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (both 1-based, as CI matrices number their jobs)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` → ``Shard(2, 3)``; anything else raises ``ShardError`` with the reason."""
        match = _SPEC.fullmatch(text.strip())
        if match is None:
            raise ShardError(f"{text!r} is not K/N (for example 2/3)")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ShardError(f"{text!r}: K must be between 1 and N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, ids: Iterable[str]) -> frozenset[str]:
        """The ids among ``ids`` that this shard runs (see the module docstring for the rule)."""
        ordered = sorted(set(ids))
        return frozenset(sid for position, sid in enumerate(ordered) if position % self.count == self.index - 1)
