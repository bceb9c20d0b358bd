"""Both cores: persistent worker processes that run micro-batches on their share of partitions.

The driver splits each micro-batch's partitions into ``--workers`` groups (partition i goes to
group i mod N, so a partition always stays in one group and its log order holds). Group 0 runs
in the driver's process, the others in worker processes started once (importing Beam costs
seconds; a micro-batch must not pay it). Each runs the very same ``run_micro_batch`` into its
own staging directory; the driver merges them and commits one transaction, as with one worker.

During the parallel phase the driver closes its warehouse connection so that every process can
open the warehouse read-only for the dedup history lookup (DuckDB allows many read-only
processes or one writer), and reopens it to commit.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.micro_batch import run_micro_batch
from pipelines.transforms.dedup import SeenIdsSource
from pipelines.transforms.read import OffsetRangePlan, close_cached_readers

log = logging.getLogger("ascolto.parallel")


class WorkerFailed(RuntimeError):
    """A worker process failed its share of a micro-batch (nothing was committed)."""


def _worker_main(conn: Connection, job: JobConfig, catalog: Catalog) -> None:
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return  # the driver is gone
            if task is None:
                return
            plan, watermarks, history, staging = task
            try:
                run_micro_batch(job, catalog, plan, watermarks, history, Path(staging))
                conn.send(None)
            except Exception:  # noqa: BLE001 - sent to the driver, which fails the batch
                conn.send(traceback.format_exc())
    finally:
        close_cached_readers()


class WorkerPool:
    def __init__(self, job: JobConfig, catalog: Catalog, processes: int):
        ctx = mp.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs = []
        for i in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child, job, catalog), name=f"ascolto-worker-{i + 1}", daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def __len__(self) -> int:
        return len(self._procs)

    def submit(self, i: int, plan: OffsetRangePlan, watermarks: dict, history: SeenIdsSource, staging: Path) -> None:
        self._conns[i].send((plan, watermarks, history, str(staging)))

    def wait(self, i: int) -> None:
        try:
            error = self._conns[i].recv()
        except EOFError:
            raise WorkerFailed(f"worker {i + 1} died (exit code {self._procs[i].exitcode})") from None
        if error is not None:
            raise WorkerFailed(f"worker {i + 1} failed its share of the batch:\n{error}")

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def split_plan(plan: OffsetRangePlan, groups: int) -> list[OffsetRangePlan]:
    """Partition i goes to group i mod ``groups``; empty groups are dropped."""
    parts = sorted(plan.ranges)
    out = []
    for g in range(groups):
        ranges = {p: plan.ranges[p] for i, p in enumerate(parts) if i % groups == g}
        if ranges:
            out.append(OffsetRangePlan(plan.topic, ranges))
    return out
