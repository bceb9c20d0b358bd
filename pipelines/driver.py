"""The embedded driver: Beam's batch runner over Kafka micro-batches, committed exactly once.

One micro-batch:

1. plan: per partition, ``[next_offset, next_offset + share of --max-batch-records)`` from the
   warehouse's committed offsets (the broker's own offsets are never trusted: Tansu forgets
   them on restart);
2. run the engagement graph (``engagement.build_engagement``) on those ranges with the
   FnApiRunner; the reader stops where the log ends;
3. check the accounting: consumed == accepted + duplicates + late + dead letters, or refuse;
4. commit results, dedup state, watermarks and offsets in one warehouse transaction;
5. mirror offsets into the consumer group (for lag tools) and update the metrics.

A crash anywhere before step 4's COMMIT replays the same offsets on restart, and since
lateness and dedup depend only on the log (see ``transforms/lateness.py``), the replay
produces the same rows: nothing lost, nothing doubled.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from kafka.errors import KafkaError

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.io.batch import BatchOutputs
from pipelines.io.broker import create_topics
from pipelines.io.dead_letters import publish_dead_letters
from pipelines.io.kafka import KafkaSettings, KafkaUnavailable, commit_group_offsets, probe_new_records, topic_partitions
from pipelines.io.metrics import LATENCY_QUANTILES, PipelineMetrics
from pipelines.io.warehouse import DuckDBWarehouse, WarehouseError
from pipelines.micro_batch import read_outputs, run_micro_batch
from pipelines.model import MENTION_TYPES
from pipelines.parallel import WorkerFailed, WorkerPool, split_plan
from pipelines.transforms.read import OffsetRangePlan, close_cached_readers

log = logging.getLogger("ascolto.driver")


class AccountingError(RuntimeError):
    """A micro-batch's outputs do not add up to what it read: it is not committed."""


@dataclass
class BatchReport:
    batch_id: int
    consumed: int
    accepted: int
    duplicates: int
    late: int
    dead_letters: int
    window_rows: int
    lag: dict[int, int]
    pipeline_seconds: float
    commit_seconds: float
    watermark_ms: int | None
    partition_watermarks_ms: dict[int, int] = field(default_factory=dict)
    latency_s: dict[str, float] = field(default_factory=dict)  # quantile -> seconds

    @property
    def seconds(self) -> float:
        return self.pipeline_seconds + self.commit_seconds


@dataclass
class RunTotals:
    batches: int = 0
    consumed: int = 0
    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    lag: dict[int, int] = field(default_factory=dict)

    def add(self, r: BatchReport) -> None:
        self.batches += 1
        self.consumed += r.consumed
        self.accepted += r.accepted
        self.duplicates += r.duplicates
        self.late += r.late
        self.dead_letters += r.dead_letters
        self.seconds += r.seconds
        self.lag = r.lag


CARE_REFRESH_SECONDS = 60.0  # the care gauges feed alerts with `for: 15m`: a minute of staleness is fine


def customer_mentions_by_sentiment(facts: pa.Table) -> dict[tuple[str, str], int]:
    """(brand, sentiment) -> customer mentions in a batch's accepted events: mention types, not
    written by a brand account, counted once per brand they concern (an event without brand:
    'unattributed', as in the windows)."""
    if facts.num_rows == 0:
        return {}
    keep = pc.and_(pc.is_in(facts["event_type"], value_set=pa.array(sorted(MENTION_TYPES))), pc.invert(facts["author_is_brand_account"]))
    f = facts.filter(keep).select(["brands", "sentiment"])
    if f.num_rows == 0:
        return {}
    none = pc.equal(pc.list_value_length(f["brands"]), 0)
    brands = pc.if_else(none, pa.scalar(["unattributed"], pa.list_(pa.string())), f["brands"])
    flat = pa.table({"brand": pc.list_flatten(brands), "sentiment": pc.take(f["sentiment"], pc.list_parent_indices(brands))})
    counts = flat.group_by(["brand", "sentiment"]).aggregate([("brand", "count")])
    return {(b, s): int(n) for b, s, n in zip(*(counts[c].to_pylist() for c in ("brand", "sentiment", "brand_count")))}


class EmbeddedDriver:
    def __init__(self, job: JobConfig, catalog: Catalog, warehouse: DuckDBWarehouse, metrics: PipelineMetrics | None = None):
        self.job = job
        self.catalog = catalog
        self.warehouse = warehouse
        self.metrics = metrics or PipelineMetrics()
        for b in catalog.brands:
            self.metrics.crisis_active.labels(b.id).set(0)
            if b.role == "own":
                self.metrics.care_overdue.labels(b.id).set(0)
        for brand in (*catalog.brand_ids, "unattributed"):  # every series exists from the start: PromQL ratios need both sides
            for sentiment in ("negative", "neutral", "positive", "unknown"):
                self.metrics.brand_sentiment.labels(brand, sentiment)
        warehouse.sync_brands(catalog)
        self._care_refreshed = 0.0
        self.update_business_state()  # after a restart the gauges say what the warehouse says, not 0
        self._settings = KafkaSettings(job.bootstrap_servers)
        self._consumer = self._settings.consumer(group_id=job.group_id)
        self.partitions = topic_partitions(self._consumer, job.topic)
        workers = min(job.workers, len(self.partitions))
        self._pool = WorkerPool(job, catalog, workers - 1) if workers > 1 else None
        if job.dlq_topic:
            try:
                create_topics(job.bootstrap_servers, {job.dlq_topic: 1})
            except KafkaError as exc:  # an existing topic, or no admin rights: publishing will tell
                log.warning("could not create dead-letter topic %s: %s", job.dlq_topic, exc)

    def close(self) -> None:
        self._consumer.close()
        close_cached_readers()
        if self._pool is not None:
            self._pool.close()

    def plan(self) -> OffsetRangePlan:
        state = self.warehouse.source_state(self.job.topic)
        share = math.ceil(self.job.max_batch_records / len(self.partitions))
        ranges = {}
        for p in self.partitions:
            start = state[p].next_offset if p in state else 0
            ranges[p] = (start, start + share)
        return OffsetRangePlan(self.job.topic, ranges)

    def run_batch(self) -> BatchReport:
        job = self.job
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        plan = self.plan()
        state = self.warehouse.source_state(job.topic)
        has_new, lag = probe_new_records(self._consumer, job.topic, {p: r[0] for p, r in plan.ranges.items()})
        if not has_new:
            report = BatchReport(
                batch_id=0,
                consumed=0,
                accepted=0,
                duplicates=0,
                late=0,
                dead_letters=0,
                window_rows=0,
                lag=lag,
                pipeline_seconds=time.perf_counter() - t0,
                commit_seconds=0.0,
                watermark_ms=self.warehouse.global_watermark_ms(job.topic, len(self.partitions)),
            )
            self._record_metrics(report, None)
            return report
        watermarks = {(job.topic, p): s.max_event_time_ms for p, s in state.items()}
        out = self._run_pipelines(plan, watermarks)
        pipeline_seconds = time.perf_counter() - t0
        accounted = out.accepted + len(out.duplicates) + len(out.late) + len(out.dead_letters)
        if accounted != out.consumed:
            raise AccountingError(
                f"batch read {out.consumed} records but accounts for {accounted} "
                f"({out.accepted} accepted, {len(out.duplicates)} duplicates, {len(out.late)} late, "
                f"{len(out.dead_letters)} dead letters); nothing was committed"
            )
        batch_id = self.warehouse.next_batch_id()
        commit_seconds = 0.0
        if job.dlq_topic:
            publish_dead_letters(self._settings, job.dlq_topic, out.dead_letters)  # before the commit: at least once
        if out.consumed:
            commit_seconds = self.warehouse.commit(
                batch_id,
                job.topic,
                len(self.partitions),
                out,
                job.allowed_lateness_seconds,
                job.dedup_retention_seconds,
                started_at,
                pipeline_seconds,
            )
            if out.accepted:
                caught_up = all(r.end >= r.highwater for r in out.ranges)
                self.update_business_state(caught_up or time.monotonic() - self._care_refreshed >= CARE_REFRESH_SECONDS)
            try:
                commit_group_offsets(self._consumer, job.topic, {r.partition: r.end for r in out.ranges})
            except Exception as exc:  # noqa: BLE001 - informational only; the warehouse holds the truth
                log.warning("could not mirror offsets to consumer group %s: %s", job.group_id, exc)
        report = BatchReport(
            batch_id=batch_id,
            consumed=out.consumed,
            accepted=out.accepted,
            duplicates=len(out.duplicates),
            late=len(out.late),
            dead_letters=len(out.dead_letters),
            window_rows=out.windows.num_rows + out.aspect_windows.num_rows,
            lag={r.partition: max(0, r.highwater - r.end) for r in out.ranges},
            pipeline_seconds=pipeline_seconds,
            commit_seconds=commit_seconds,
            watermark_ms=self.warehouse.global_watermark_ms(job.topic, len(self.partitions)),
            partition_watermarks_ms={p: s.max_event_time_ms for p, s in self.warehouse.source_state(job.topic).items()},
            latency_s=dict(zip(LATENCY_QUANTILES, out.latency_quantiles_s(tuple(float(q) for q in LATENCY_QUANTILES)))),
        )
        self._record_metrics(report, out)
        return report

    def _run_pipelines(self, plan: OffsetRangePlan, watermarks: dict[tuple[str, int], int]) -> BatchOutputs:
        """The graph over the plan: in this process, or split across the worker processes."""
        groups = split_plan(plan, 1 + len(self._pool)) if self._pool else [plan]
        stagings = [Path(tempfile.mkdtemp(prefix="ascolto-batch-")) for _ in groups]
        try:
            if len(groups) == 1:
                run_micro_batch(self.job, self.catalog, plan, watermarks, self.warehouse.seen_ids_source(), stagings[0])
                return read_outputs(stagings)
            assert self._pool is not None
            self.warehouse.suspend()  # every process reads the dedup history read-only meanwhile
            try:
                history = self.warehouse.seen_ids_source(read_only=True)
                for i, group in enumerate(groups[1:]):
                    self._pool.submit(i, group, watermarks, history, stagings[i + 1])
                failure: BaseException | None = None
                try:
                    run_micro_batch(self.job, self.catalog, groups[0], watermarks, history, stagings[0])
                except BaseException as exc:  # noqa: BLE001 - re-raised after the workers are collected
                    failure = exc
                for i in range(len(groups) - 1):
                    try:
                        self._pool.wait(i)
                    except WorkerFailed as exc:
                        failure = failure or exc
                if failure is not None:
                    raise failure
            finally:
                self.warehouse.resume()
            out = read_outputs(stagings)
            if pc.count_distinct(out.facts["event_id"]).as_py() != out.facts.num_rows:
                # Copies of one id in partitions of different workers: only one process can see
                # them all. Rare (redeliveries keep their key, so their partition); redo it whole.
                log.warning("an event id appears in partitions of different workers; re-running this batch in one process")
                for s in stagings:
                    shutil.rmtree(s, ignore_errors=True)
                    s.mkdir()
                run_micro_batch(self.job, self.catalog, plan, watermarks, self.warehouse.seen_ids_source(), stagings[0])
                return read_outputs(stagings[:1])
            return out
        finally:
            for s in stagings:
                shutil.rmtree(s, ignore_errors=True)

    def _record_metrics(self, r: BatchReport, out: BatchOutputs | None) -> None:
        m = self.metrics
        for p, lag in r.lag.items():
            m.consumer_lag.labels(str(p)).set(lag)
        for p, wm in r.partition_watermarks_ms.items():
            if wm >= 0:
                m.partition_watermark.labels(str(p)).set(wm / 1000)
        if not r.consumed or out is None:
            return
        m.consumed.inc(r.consumed)
        m.accepted.inc(r.accepted)
        m.late.inc(r.late)
        m.batches.inc()
        for d in out.duplicates:
            m.duplicates.labels(d.kind).inc()
        for d in out.dead_letters:
            m.dead_letters.labels(d.reason).inc()
        m.batch_duration.observe(r.seconds)
        m.commit_duration.observe(r.commit_seconds)
        m.last_commit.set(time.time())
        if r.watermark_ms is not None:
            m.watermark.set(r.watermark_ms / 1000)
        for q, seconds in r.latency_s.items():
            m.event_latency.labels(q).set(seconds)
        if out.windows.num_rows:
            # One increment per (brand, platform), never per window row; from one window size
            # (each size holds every accepted event once: counting two would double them).
            w = out.windows.filter(pc.equal(out.windows["window_seconds"], self.job.smallest_window_seconds))
            is_mention = pc.is_in(w["event_type"], value_set=pa.array(sorted(MENTION_TYPES)))
            w = w.append_column("mentions", pc.if_else(is_mention, w["events"], 0))
            per = w.group_by(["brand", "platform"]).aggregate(
                [("mentions", "sum"), ("engagement_points", "sum"), ("impressions", "sum"), ("reach", "sum")]
            )
            for brand, platform, mentions, points, impressions, reach in zip(
                *(
                    per[c].to_pylist()
                    for c in ("brand", "platform", "mentions_sum", "engagement_points_sum", "impressions_sum", "reach_sum")
                )
            ):
                m.brand_mentions.labels(brand, platform).inc(mentions)
                m.brand_engagement.labels(brand, platform).inc(points)
                m.brand_impressions.labels(brand, platform).inc(impressions)
                m.brand_reach.labels(brand).inc(reach)
        for (brand, sentiment), n in customer_mentions_by_sentiment(out.facts).items():
            m.brand_sentiment.labels(brand, sentiment).inc(n)

    def update_business_state(self, refresh_care: bool = True) -> None:
        """After a commit: crisis episodes (crisis-v1, incremental) and the crisis gauges, the
        ``care_response`` rows of the new batches (care-v1, incremental: ``analytics.care``, overdue
        against the committed watermark), and with ``refresh_care`` the care gauges.

        The care view reads every request in the warehouse (about 0.2 s on 110k events, growing
        with history), so the caller refreshes it at most every ``CARE_REFRESH_SECONDS`` and
        whenever the pipeline has caught up; crisis-v1 is incremental and runs every time.
        Runs in its own transaction after the batch's: a failure here loses nothing (the next
        call recomputes from the batch ids it has not seen) and does not stop the pipeline; it is
        counted as an ``analytics`` failure."""
        from pipelines.analytics.business import refresh_business_state
        from pipelines.analytics.care import update_care_responses

        wh = self.warehouse
        try:
            partitions = getattr(self, "partitions", None)  # unknown yet at start: rows without the overdue marks
            watermark = wh.global_watermark_ms(self.job.topic, len(partitions)) if partitions else None
            own = frozenset(b.id for b in self.catalog.brands if b.role == "own")
            refresh_business_state(wh.con, wh.dialect, self.catalog, self.metrics, refresh_care)
            update_care_responses(wh.con, wh.dialect, own, watermark, self.job.smallest_window_seconds, self.job.allowed_lateness_seconds)
        except Exception as exc:  # noqa: BLE001 - any database error: the batch itself is committed
            self.metrics.failures.labels("analytics").inc()
            log.warning("crisis and care update failed (retried after the next batch): %s", exc)
            return
        if refresh_care:
            self._care_refreshed = time.monotonic()

    def run(
        self,
        stop_when_idle: bool = False,
        max_batches: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> RunTotals:
        totals = RunTotals()
        while not should_stop():
            self.metrics.last_attempt.set(time.time())
            try:
                report = self.run_batch()
            except KafkaUnavailable as exc:
                self.metrics.failures.labels("kafka").inc()
                log.warning("%s; retrying in %.0f s", exc, self.job.idle_sleep_seconds)
                time.sleep(self.job.idle_sleep_seconds)
                continue
            except WarehouseError:
                self.metrics.failures.labels("warehouse").inc()
                raise
            except Exception:
                # A deterministic failure (a bug, an accounting error) would fail again on the same
                # offsets: count it and stop, rather than spin. Nothing of the batch was committed.
                self.metrics.failures.labels("pipeline").inc()
                raise
            if report.consumed:
                totals.add(report)
            else:
                totals.lag = report.lag
            if on_batch:
                on_batch(report)
            if max_batches is not None and totals.batches >= max_batches:
                break
            if not report.consumed:
                if stop_when_idle:
                    break
                time.sleep(self.job.idle_sleep_seconds)
        return totals
