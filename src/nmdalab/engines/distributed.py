"""Trials on Dask (``dask.distributed``): chunks of patients as tasks, results back to the driver.

The driver (:func:`nmdalab.trial.run_trial`) owns the output directory: workers only compute a
chunk (:func:`nmdalab.trial.simulate_chunk`) and return its arrays; the driver writes each chunk
file atomically as it arrives.  Workers therefore need no shared file system.  A chunk's numbers
depend only on the scenario (seed), the arm and the patient range, never on which worker ran
it, so a Dask run equals the single-process run.

* ``workers=N``: a :class:`dask.distributed.LocalCluster` on this machine (``processes=True``:
  one process per worker, no GIL contention; ``False``: threads, cheap to start, for tests);
* ``scheduler="tcp://host:8786"``: an existing cluster (``dask scheduler`` on one machine,
  ``dask worker tcp://host:8786`` on each of the others, all with nmdalab installed).

At most ``2 x workers`` chunks are in flight, so the driver's memory stays bounded however
many chunks the trial has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from ..errors import NmdalabError

        raise NmdalabError("Dask trials need dask.distributed: pip install 'nmdalab[distributed]'") from exc
    return distributed


@contextlib.contextmanager
def client(workers: int | None = None, scheduler: str | None = None, processes: bool = True):
    """A connected :class:`distributed.Client`: to ``scheduler`` if given, else to a new
    ``LocalCluster`` of ``workers`` single-threaded workers (closed on exit)."""
    distributed = _import_distributed()
    if scheduler:
        c = distributed.Client(scheduler)
        try:
            yield c
        finally:
            c.close()
        return
    cluster = distributed.LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=processes,
                                       dashboard_address=None)
    try:
        c = distributed.Client(cluster)
        try:
            yield c
        finally:
            c.close()
    finally:
        cluster.close()


def map_chunks(c, fn: Callable, args: Iterable[tuple], shared: tuple = ()) -> Iterator:
    """``fn(*shared, *a)`` for every ``a`` in ``args`` on the cluster, results as they complete.

    ``shared`` objects (the scenario, the model) are scattered once to every worker.  Tasks are
    submitted in a sliding window of twice the number of worker threads.
    """
    distributed = _import_distributed()
    shared_f = [c.scatter(s, broadcast=True) for s in shared]
    pending = list(args)
    nthreads = sum(c.nthreads().values()) or 1
    window = 2 * nthreads
    ac = distributed.as_completed()
    for _ in range(min(window, len(pending))):
        ac.add(c.submit(fn, *shared_f, *pending.pop(0), pure=False))
    for fut in ac:
        result = fut.result()
        fut.release()
        if pending:
            ac.add(c.submit(fn, *shared_f, *pending.pop(0), pure=False))
        yield result
