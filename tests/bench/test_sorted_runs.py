"""The audit trail's time order over the whole network, from runs set aside a block at a time."""

from __future__ import annotations

import random
from operator import itemgetter

from bench import sorted_runs
from bench.sorted_runs import SortedRuns


def test_merged_runs_come_out_as_one_stable_sort_of_every_item():
    rng = random.Random(3)
    # Few distinct keys, so that many items tie across runs and within them.
    runs = [[(rng.randrange(20), run, n) for n in range(rng.randrange(0, 300))] for run in range(7)]
    everything = [item for run in runs for item in run]

    with SortedRuns(key=itemgetter(0), slice_items=16) as spilled:
        for run in runs:
            spilled.add_run(list(run))
        merged = list(spilled.merged())

    assert merged == sorted(everything, key=itemgetter(0))
    assert spilled.items == len(everything)


def test_merging_reads_one_slice_of_each_run_at_a_time(monkeypatch):
    loaded = []
    loads = sorted_runs.pickle.loads
    monkeypatch.setattr(sorted_runs.pickle, "loads", lambda data: loaded.append(1) or loads(data))
    with SortedRuns(key=itemgetter(0), slice_items=10) as spilled:
        for run in range(5):
            spilled.add_run([(n * 5 + run,) for n in range(1000)])
        merged = spilled.merged()

        first = [next(merged) for _ in range(20)]

    assert [item[0] for item in first] == list(range(20))
    assert len(loaded) == 5  # of the 500 slices written, the first of each run
