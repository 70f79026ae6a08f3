"""Ring buffer of step records, mirrored to a JSONL file.

The file is appended in batches (every `flush_every` records) and flushed on exit,
crash and SIGTERM/SIGINT by the owner calling `flush()`; a record is one line so a
trace cut short by a kill is still readable up to its last complete line.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import IO

from nansentry.records import StepRecord


class Trace:
    """The last `capacity` step records in memory, all of them on disk if a path is set."""

    def __init__(self, capacity: int = 4096, path: str | Path | None = None, flush_every: int = 50) -> None:
        self._ring: deque[StepRecord] = deque(maxlen=capacity)
        self._pending: list[StepRecord] = []
        self._path = Path(path) if path else None
        self._file: IO[str] | None = None
        self._flush_every = flush_every
        self.total = 0

    def append(self, record: StepRecord) -> None:
        self._ring.append(record)
        self.total += 1
        if self._path is not None:
            self._pending.append(record)
            if len(self._pending) > self._flush_every:
                self._write(self._pending[:-1])  # the last may still be amended
                del self._pending[:-1]

    def records(self) -> list[StepRecord]:
        return list(self._ring)

    def tail(self, n: int) -> list[StepRecord]:
        """The last n records, oldest first (without copying the whole ring)."""
        out = list(islice(reversed(self._ring), n))
        out.reverse()
        return out

    def last(self) -> StepRecord | None:
        return self._ring[-1] if self._ring else None

    def replace_last(self, **changes: object) -> None:
        """Amend the newest record (its parameter norm is known only after the update)."""
        if not self._ring:
            return
        new = replace(self._ring[-1], **changes)
        if self._pending and self._pending[-1] is self._ring[-1]:
            self._pending[-1] = new
        self._ring[-1] = new

    def flush(self) -> None:
        if self._path is None or not self._pending:
            return
        self._write(self._pending)
        self._pending.clear()

    def _write(self, records: list[StepRecord]) -> None:
        if self._file is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            self._file = open(self._path, "w", encoding="utf-8")  # type: ignore[arg-type]
        for r in records:
            self._file.write(json.dumps(r.to_dict(), separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    @staticmethod
    def read(path: str | Path) -> list[StepRecord]:
        """Load a JSONL trace, ignoring a truncated last line."""
        out: list[StepRecord] = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(StepRecord.from_dict(json.loads(line)))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        return out
