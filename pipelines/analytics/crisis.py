"""Crisis detection, detector ``crisis-v1``: a brand's negative mentions against its own baseline.

Input: the customer voice in the warehouse (view ``v_brand_mentions_sentiment``: posts,
mentions, comments, replies, reviews, DMs and shares written by non-brand accounts, one row per
brand they are about), the negative ones (``sentiment = 'negative'``). Output: rows of
``crisis_episodes`` (view ``v_crisis_episodes``), written by ``update_crisis_episodes`` after a
commit, idempotently: the same warehouse always gives the same rows.

The arithmetic (defaults of ``CrisisParams``; times are event times, UTC):

- The detector evaluates every brand at grid times ``t = k * step`` (5 minutes). At ``t`` it
  counts negatives in three half-open windows: volume ``V`` over ``[t - 1 h, t)``, velocity
  ``F`` over ``[t - 15 min, t)``, baseline over ``[t - 13 h, t - 1 h)``. The baseline rate
  ``b`` is that count per hour of history actually available (up to 12 h), at least
  ``baseline_floor_per_hour`` (a quiet brand does not alert on its third complaint).
- Warm-up: no evaluation until 3 h of history precede the volume window (``t - 1 h - data
  start >= 3 h``, data start = the first event in the warehouse): before that a baseline says
  nothing.
- An episode opens at the first ``t`` where ``V >= 10 and V/h >= 3 b`` (volume) or ``F >= 6 and
  F * 4 /h >= 6 b`` (velocity). ``started_at = t``, the baseline ``b0`` is frozen there (a
  crisis must not become its own baseline).
- While open, ``t`` is calm when the velocity rate is below ``3 b0`` (the ratio that opens on
  volume: a 15-minute window of a few mentions is noisy, 2x flickers). After a calm stretch of
  1 h (cooldown) the episode ends at the first calm ``t`` of that stretch; a surge inside the
  cooldown continues the same episode. Until the cooldown has passed in the data, ``ended_at``
  is NULL (ongoing).
- Peak: the first ``t`` with the highest velocity rate while not calm; ``severity`` = that rate
  over ``b0``; levels moderate (< 5), high (< 10), severe.

So a surge starting at ``B`` opens an episode at the first grid time after the surge's
negatives cross the thresholds: never before ``B`` (the windows hold none of it), at most
``step`` after the crossing. Recomputation: a commit's new negatives at event time ``e`` change
evaluations in ``(e, e + 13 h]``; each affected brand is re-run from ``floor(e)`` (or the start
of an episode open or cooling there) in the closed state, which reproduces a full run exactly
(``tests/analytics`` checks incremental against full).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

from pipelines.analytics import terms
from pipelines.analytics.sql import rows, transaction
from pipelines.io.batch import Dialect

DETECTOR_VERSION = "crisis-v1"
NEGATIVES = "FROM v_brand_mentions_sentiment WHERE sentiment = 'negative'"


@dataclass(frozen=True)
class CrisisParams:
    """The detector's knobs. Windows are multiples of ``step_seconds``; change any and the
    stored episodes of this version are recomputed from scratch (the parameters are stored)."""

    step_seconds: int = 300  # evaluation grid
    window_seconds: int = 3600  # volume: the last hour
    baseline_seconds: int = 12 * 3600  # the previous 12 hours
    min_baseline_seconds: int = 3 * 3600  # warm-up: history needed before the first evaluation
    fast_window_seconds: int = 900  # velocity: the last 15 minutes
    min_negatives: int = 10  # in the volume window, to open on volume
    volume_ratio: float = 3.0  # volume rate / baseline rate, to open
    min_fast_negatives: int = 6  # in the velocity window, to open on velocity
    velocity_ratio: float = 6.0  # velocity rate / baseline rate, to open
    baseline_floor_per_hour: float = 2.0
    exit_ratio: float = 3.0  # calm: velocity rate below exit_ratio x the baseline at the start
    cooldown_seconds: int = 3600  # calm this long before an episode ends
    top_n: int = 5  # terms and aspects kept per episode
    version: str = DETECTOR_VERSION

    def validate(self) -> CrisisParams:
        for name in ("window_seconds", "baseline_seconds", "min_baseline_seconds", "fast_window_seconds", "cooldown_seconds"):
            if getattr(self, name) % self.step_seconds or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive multiple of step_seconds ({self.step_seconds})")
        if self.fast_window_seconds > self.window_seconds or self.min_baseline_seconds > self.baseline_seconds:
            raise ValueError("fast_window_seconds <= window_seconds and min_baseline_seconds <= baseline_seconds")
        return self


@dataclass
class Episode:
    brand: str
    start: int  # grid indices (t = k * step)
    peak: int
    end: int | None
    last: int  # ongoing: the latest evaluation; ended: the one that confirmed the end (end + cooldown)
    baseline_per_hour: float
    peak_per_hour: float
    negative_mentions: int = 0
    top_terms: list[str] = field(default_factory=list)
    top_aspects: list[str] = field(default_factory=list)

    @property
    def severity(self) -> float:
        return self.peak_per_hour / self.baseline_per_hour

    @property
    def severity_level(self) -> str:
        return "moderate" if self.severity < 5 else "high" if self.severity < 10 else "severe"


@dataclass
class CrisisUpdate:
    """What one update did: the driver logs it and sets the ``crisis active`` gauge from ``active``."""

    brands_recomputed: list[str]
    episodes_written: int
    active: set[str]  # brands with an ongoing episode
    full: bool
    seconds: float


def detect(brand: str, counts: dict[int, int], data_start: int, first: int, last: int, p: CrisisParams) -> list[Episode]:
    """Runs the state machine over grid indices ``first..last``, closed at ``first``.

    ``counts``: negatives per grid bucket ``k`` (event times in ``[k step, (k+1) step)``).
    Pure: the tests drive it with hand-made counts."""
    s = p.step_seconds
    n_w, n_f, n_h = p.window_seconds // s, p.fast_window_seconds // s, p.baseline_seconds // s
    lo = first - n_w - n_h
    c = np.zeros(max(last - lo, 0) + 1, dtype=np.int64)
    for k, n in counts.items():
        if lo <= k < last:
            c[k - lo] = n
    prefix = np.concatenate(([0], np.cumsum(c)))

    def total(a: int, b: int) -> int:  # negatives in buckets [a, b)
        return int(prefix[max(b, lo) - lo] - prefix[max(a, lo) - lo])

    per_hour_v, per_hour_f = 3600 / p.window_seconds, 3600 / p.fast_window_seconds
    warm_from = data_start + n_w + p.min_baseline_seconds // s
    out: list[Episode] = []
    ep: Episode | None = None
    calm_since: int | None = None
    for k in range(max(first, warm_from), last + 1):
        v, f = total(k - n_w, k), total(k - n_f, k)
        fast_rate = f * per_hour_f
        if ep is None:
            avail = min(n_h, k - n_w - data_start)
            b = max(total(k - n_w - avail, k - n_w) * 3600 / (avail * s), p.baseline_floor_per_hour)
            on_volume = v >= p.min_negatives and v * per_hour_v >= p.volume_ratio * b
            on_velocity = f >= p.min_fast_negatives and fast_rate >= p.velocity_ratio * b
            if on_volume or on_velocity:
                ep = Episode(brand, k, k, None, last, b, fast_rate)
                calm_since = None
            continue
        if fast_rate < p.exit_ratio * ep.baseline_per_hour:
            calm_since = k if calm_since is None else calm_since
            if (k - calm_since) * s >= p.cooldown_seconds:
                ep.end, ep.last = calm_since, k
                out.append(ep)
                ep = None
            continue
        calm_since = None
        if fast_rate > ep.peak_per_hour:
            ep.peak, ep.peak_per_hour = k, fast_rate
    if ep is not None:
        out.append(ep)
    for e in out:
        e.negative_mentions = total(e.start - n_w, last + 1 if e.end is None else e.end)
    return out


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _meta(con, d: Dialect, version: str) -> dict[str, str]:
    prefix = f"{version}."
    got = rows(con, d, f"SELECT key, value FROM warehouse_meta WHERE key LIKE {d.param}", [prefix + "%"])
    return {k[len(prefix) :]: v for k, v in got}


def _bucket(d: Dialect, step_ms: int) -> str:
    return f"CAST(floor({d.epoch_ms.format('event_time')} / {step_ms}) AS BIGINT)"


def update_crisis_episodes(
    con, dialect: Dialect, params: CrisisParams | None = None, catalog=None, full: bool = False, changed: dict[str, int] | None = None
) -> CrisisUpdate:
    """Brings ``crisis_episodes`` up to date with ``fact_events``; call it after each commit.

    Incremental: reads which negatives arrived since the last call (``batch_id`` above the one
    stored in ``warehouse_meta``) and how far event time advanced, re-runs only the affected
    brands from the affected time, and replaces their episodes from there in one transaction.
    ``changed`` (brand -> earliest event time in ms) adds what arrived without a new batch id:
    the streaming sink's change marks (``analytics.business``).
    ``full=True`` (or changed parameters, or events older than the first one seen) recomputes
    everything. ``catalog`` names the brands' own words, left out of the top terms."""
    t0 = time.perf_counter()
    p = (params or CrisisParams()).validate()
    if catalog is None:
        from pipelines.catalog import load_catalog

        catalog = load_catalog()
    d, step_ms = dialect, p.step_seconds * 1000

    def epoch(agg: str) -> str:  # milliseconds of an aggregate of event_time (converting once, not per row)
        return f"CAST({d.epoch_ms.format(f'{agg}(event_time)')} AS BIGINT)"

    lo_ms, hi_ms, max_batch = rows(con, d, f"SELECT {epoch('min')}, {epoch('max')}, max(batch_id) FROM fact_events")[0]
    if lo_ms is None:
        return CrisisUpdate([], 0, set(), full, time.perf_counter() - t0)
    data_start, last = int(lo_ms) // step_ms, int(hi_ms) // step_ms
    meta = _meta(con, d, p.version)
    fingerprint = json.dumps(asdict(p), sort_keys=True)
    full = full or meta.get("params") != fingerprint or meta.get("data_start") != str(data_start)
    lookback = (p.window_seconds + p.baseline_seconds) // p.step_seconds
    if full:
        start_at = dict.fromkeys((r[0] for r in rows(con, d, f"SELECT DISTINCT brand {NEGATIVES}")), data_start)
    else:
        # Time advanced for every brand: those with negatives in the windows of the new evaluation
        # times (none elsewhere can open, and an open episode has had negatives within its cooldown).
        resume = int(meta["evaluated_until"]) + 1
        recent = rows(con, d, f"SELECT DISTINCT brand {NEGATIVES} AND event_time >= {d.param}", [_ts((resume - lookback) * step_ms)])
        start_at = dict.fromkeys((r[0] for r in recent), resume)
        new = rows(
            con,
            d,
            f"SELECT brand, {epoch('min')} {NEGATIVES} AND batch_id > {d.param} GROUP BY brand",
            [int(meta["last_batch_id"])],
        )
        for brand, e_ms in [*new, *(changed or {}).items()]:
            start_at[brand] = min(start_at.get(brand, resume), int(e_ms) // step_ms)
        cooldown = p.cooldown_seconds * 1000
        stored = rows(
            con,
            d,
            f"""SELECT brand, CAST({d.epoch_ms.format("started_at")} AS BIGINT), CAST({d.epoch_ms.format("ended_at")} AS BIGINT)
                FROM crisis_episodes WHERE detector_version = {d.param}""",
            [p.version],
        )
        for brand, s_ms, e_ms in stored:  # an episode open or cooling at the resume point is re-run from its start
            k = start_at.get(brand)
            if k is not None and s_ms // step_ms <= k and (e_ms is None or e_ms + cooldown >= k * step_ms):
                start_at[brand] = min(k, int(s_ms) // step_ms)
    start_at = {b: k for b, k in start_at.items() if k <= last}
    episodes: list[Episode] = []
    if start_at:
        since = max(min(start_at.values()) - lookback, data_start)
        counts: dict[str, dict[int, int]] = {}
        for brand, k, n in rows(
            con,
            d,
            f"SELECT brand, {_bucket(d, step_ms)} AS k, count(*) {NEGATIVES} AND event_time >= {d.param} GROUP BY 1, 2",
            [_ts(since * step_ms)],
        ):
            counts.setdefault(brand, {})[int(k)] = int(n)
        for brand, k in sorted(start_at.items()):
            episodes += detect(brand, counts.get(brand, {}), data_start, k, last, p)
        for e in episodes:
            _describe(con, d, e, p, catalog)
    now = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con, d):
        if full:
            rows(con, d, f"DELETE FROM crisis_episodes WHERE detector_version = {d.param}", [p.version])
        else:
            for brand, k in start_at.items():
                rows(
                    con,
                    d,
                    f"DELETE FROM crisis_episodes WHERE detector_version = {d.param} AND brand = {d.param} AND started_at >= {d.param}",
                    [p.version, brand, _ts(k * step_ms)],
                )
        for e in episodes:
            _upsert(con, d, e, p, now)
        for key, value in (
            ("params", fingerprint),
            ("data_start", str(data_start)),
            ("evaluated_until", str(last)),
            ("last_batch_id", str(max_batch)),
        ):
            rows(
                con,
                d,
                f"INSERT INTO warehouse_meta VALUES ({d.param}, {d.param}) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [f"{p.version}.{key}", value],
            )
    return CrisisUpdate(sorted(start_at), len(episodes), active_crises(con, d, p.version), full, time.perf_counter() - t0)


def _describe(con, d: Dialect, e: Episode, p: CrisisParams, catalog) -> None:
    """Top terms and aspects: the episode's negatives (from an hour before the start to the end)
    against the baseline's (the 12 hours before that)."""
    step_ms, w_ms, h_ms = p.step_seconds * 1000, p.window_seconds * 1000, p.baseline_seconds * 1000
    a_ms = e.start * step_ms - w_ms
    b_ms = ((e.last + 1) if e.end is None else e.end) * step_ms
    sql = f"SELECT text, aspects {NEGATIVES} AND brand = {d.param} AND event_time >= {d.param} AND event_time < {d.param}"
    episode = rows(con, d, sql, [e.brand, _ts(a_ms), _ts(b_ms)])
    baseline = rows(con, d, sql, [e.brand, _ts(a_ms - h_ms), _ts(a_ms)])
    e.top_terms = terms.top_terms((t for t, _ in episode), (t for t, _ in baseline), terms.brand_words(catalog, e.brand), p.top_n)
    e.top_aspects = terms.top_aspects((a for _, a in episode), p.top_n)


def _upsert(con, d: Dialect, e: Episode, p: CrisisParams, now: datetime) -> None:
    s = p.step_seconds * 1000
    q = d.param
    rows(
        con,
        d,
        f"""INSERT INTO crisis_episodes (brand, detector_version, started_at, peak_at, ended_at, last_evaluated_at, baseline_per_hour,
                peak_negatives_per_hour, negative_mentions, severity, severity_level, top_terms, top_aspects, computed_at)
            VALUES ({", ".join([q] * 14)})
            ON CONFLICT (brand, detector_version, started_at) DO UPDATE SET peak_at = excluded.peak_at, ended_at = excluded.ended_at,
              last_evaluated_at = excluded.last_evaluated_at, baseline_per_hour = excluded.baseline_per_hour,
              peak_negatives_per_hour = excluded.peak_negatives_per_hour, negative_mentions = excluded.negative_mentions,
              severity = excluded.severity, severity_level = excluded.severity_level, top_terms = excluded.top_terms,
              top_aspects = excluded.top_aspects, computed_at = excluded.computed_at""",
        [
            e.brand,
            p.version,
            _ts(e.start * s),
            _ts(e.peak * s),
            None if e.end is None else _ts(e.end * s),
            _ts(e.last * s),
            e.baseline_per_hour,
            e.peak_per_hour,
            e.negative_mentions,
            e.severity,
            e.severity_level,
            e.top_terms,
            e.top_aspects,
            now,
        ],
    )


def active_crises(con, dialect: Dialect, version: str = DETECTOR_VERSION) -> set[str]:
    """Brands with an ongoing episode: the ``crisis active`` gauge is 1 for these, 0 for the others."""
    d = dialect
    return {
        r[0] for r in rows(con, d, f"SELECT brand FROM crisis_episodes WHERE detector_version = {d.param} AND ended_at IS NULL", [version])
    }


def crisis_summary(con, dialect: Dialect, version: str = DETECTOR_VERSION) -> list[tuple]:
    """What ``ascolto summary`` shows: one row per episode, newest first: brand name, status,
    started, peak, ended (None while ongoing), peak negatives per hour, severity level and
    ratio, negative mentions, top terms, top aspects."""
    d = dialect
    return rows(
        con,
        d,
        f"""SELECT coalesce(brand_name, brand), status, started_at, peak_at, ended_at, peak_negatives_per_hour, severity_level,
                   severity, negative_mentions, top_terms, top_aspects
            FROM v_crisis_episodes WHERE detector_version = {d.param} ORDER BY started_at DESC, brand""",
        [version],
    )
