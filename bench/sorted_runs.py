"""Items in key order across more of them than the seed should hold: an external merge sort.

The audit trail is one hash chain, in time order, over the events of the whole network (about
a hundred per patient: ten million at 100,000 patients, several gigabytes as Python objects),
but the seed makes them a block of patients at a time. Each block's events are sorted and
written to a temporary file as a run; `merged` reads every run back a slice at a time and
merges them. `heapq.merge` takes tied items in the order of the runs, and each run was sorted
stably, so the items come out as one stable sort of them all, in the order they came, would
give them. What is held at once: one run while it is added, and a slice of each run while
merging.
"""

from __future__ import annotations

import heapq
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator

# Items read back at a time from each run while merging: 100 runs (100,000 patients in blocks
# of 1,000) of 500 audit events of about a kilobyte each is about 50 MB.
SLICE_ITEMS = 500


class SortedRuns:
    """Runs of items sorted by `key`, kept in one temporary file until `merged` reads them."""

    def __init__(self, key: Callable, slice_items: int = SLICE_ITEMS):
        self._key = key
        self._slice_items = slice_items
        self._file = tempfile.TemporaryFile(prefix="psiflow-bench-runs-")
        self._runs: list[list[tuple[int, int]]] = []  # per run: (offset, length) of each slice
        self.items = 0

    def add_run(self, items: list) -> None:
        """Sort `items` (in place, stably) and set them aside as one run."""
        items.sort(key=self._key)
        slices = []
        for start in range(0, len(items), self._slice_items):
            data = pickle.dumps(items[start : start + self._slice_items], pickle.HIGHEST_PROTOCOL)
            slices.append((self._file.tell(), len(data)))
            self._file.write(data)
        self._runs.append(slices)
        self.items += len(items)

    def merged(self) -> Iterator:
        """Every item of every run, in key order (ties in the order the items came)."""
        self._file.flush()
        return heapq.merge(*(self._read(run) for run in self._runs), key=self._key)

    def _read(self, slices: list[tuple[int, int]]) -> Iterator:
        fd = self._file.fileno()
        for offset, length in slices:
            yield from pickle.loads(os.pread(fd, length, offset))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SortedRuns:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
