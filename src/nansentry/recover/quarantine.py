"""Quarantined samples: dataset indices excluded from every later batch.

The DataLoader draws indices in the main process in every mode (shuffle, custom
samplers, batch samplers, workers), so the filter runs there (`watch.loader`): a
quarantined index never reaches a worker. The list is saved as JSON the user can read,
edit and load again (`nansentry run --quarantine FILE`, `Guard(quarantine=FILE)`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA = 1


class Quarantine:
    """A set of dataset indices with the step and reason each was quarantined."""

    def __init__(self) -> None:
        self.samples: dict[int, dict[str, Any]] = {}
        self.loaded: int = 0  # how many came from a file given by the user
        self.dataset_len: int | None = None  # the largest map-style dataset seen by the filter

    def __len__(self) -> int:
        return len(self.samples)

    def __contains__(self, index: object) -> bool:
        return index in self.samples

    @property
    def indices(self) -> list[int]:
        return sorted(self.samples)

    def add(self, indices: list[int] | tuple[int, ...], step: int, reason: str) -> list[int]:
        """Quarantine `indices`; return those that were new."""
        new = [int(i) for i in indices if int(i) not in self.samples]
        for i in new:
            self.samples[i] = {"step": step, "reason": reason}
        return new

    def filter(self, idx: Any) -> Any:
        """An index or a batch of indices without the quarantined ones; None if nothing is left."""
        if not self.samples:
            return idx
        if isinstance(idx, (list, tuple)):
            kept = [i for i in idx if not (isinstance(i, int) and i in self.samples)]
            if len(kept) == len(idx):
                return idx
            return (type(idx)(kept) if isinstance(idx, tuple) else kept) or None
        return None if isinstance(idx, int) and idx in self.samples else idx

    def loader_filter(self, iterator: Any, idx: Any) -> Any:
        """`watch.loader` index filter: drop quarantined indices (None: draw again)."""
        try:
            n = len(iterator._dataset)
            self.dataset_len = max(self.dataset_len or 0, n)
        except TypeError:
            pass
        return self.filter(idx)

    # ---- the file --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "indices": self.indices,
            "samples": [{"index": i, **self.samples[i]} for i in self.indices],
        }

    def load_dict(self, d: dict[str, Any]) -> None:
        for s in d.get("samples", ()):
            self.samples.setdefault(int(s["index"]), {"step": s.get("step"), "reason": s.get("reason", "")})
        for i in d.get("indices", ()):  # a hand-written list needs no reasons
            self.samples.setdefault(int(i), {"step": None, "reason": "loaded from file"})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def load(self, path: Path) -> None:
        """Load a list saved by an earlier run, or a plain JSON list of indices."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the quarantine file {path}: {exc}. "
                             "Give a file written by nansentry (quarantine.json) or a JSON list of indices.") from exc
        before = len(self.samples)
        self.load_dict({"indices": data} if isinstance(data, list) else data)
        self.loaded += len(self.samples) - before


def quarantine_path(report_dir: Path | None, json_path: Path | None) -> Path | None:
    """Where the run writes its quarantine list: the report dir, else next to --json."""
    if report_dir is not None:
        return report_dir / "quarantine.json"
    if json_path is not None:
        return json_path.with_name(json_path.stem + ".quarantine.json")
    return None
