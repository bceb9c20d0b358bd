"""The independent computation the pipeline is held to.

Loads what was *published* (the generator's events and truth, and where each record
landed) into a separate in-memory DuckDB and derives, in plain SQL, what every record
must become and what every window row must hold. It shares no code with the pipeline:
the lateness rule, dedup order, engagement-v1 weights and reach-v1 are written again here.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

WEIGHTS_SQL = """CASE event_type WHEN 'view' THEN 0 WHEN 'reaction' THEN 1 WHEN 'post' THEN 2 WHEN 'mention' THEN 2
    WHEN 'share' THEN 3 WHEN 'comment' THEN 4 WHEN 'reply' THEN 4 WHEN 'review' THEN 5 WHEN 'direct_message' THEN 5 END"""
REACH_SQL = "CASE WHEN event_type IN ('post', 'mention', 'share', 'review') THEN follower_count ELSE 0 END"


def expected_db(stream, window_seconds: tuple[int, ...], allowed_lateness_seconds: int) -> duckdb.DuckDBPyConnection:
    """``window_seconds``: every size of the run, ascending; lateness is judged against the smallest."""
    rows = {
        "kafka_partition": [],
        "kafka_offset": [],
        "kind": [],
        "event_id": [],
        "event_time_ms": [],
        "platform": [],
        "event_type": [],
        "follower_count": [],
        "brands": [],
        "parent_id": [],
        "is_brand_account": [],
        "device": [],
    }
    for rec, (partition, offset) in zip(stream.records, stream.coordinates):
        ev = rec.event if not rec.kind.startswith("malformed") else None
        rows["kafka_partition"].append(partition)
        rows["kafka_offset"].append(offset)
        rows["kind"].append(rec.kind)
        rows["event_id"].append(ev["event_id"] if ev else None)
        rows["event_time_ms"].append(ev["event_time"] if ev else None)
        rows["platform"].append(ev["platform"] if ev else None)
        rows["event_type"].append(ev["event_type"] if ev else None)
        rows["follower_count"].append(ev["author"]["follower_count"] if ev else None)
        rows["brands"].append(list(rec.truth.brands) if ev else None)
        rows["parent_id"].append(ev["parent_id"] if ev else None)
        rows["is_brand_account"].append(ev["author"]["is_brand_account"] if ev else None)
        rows["device"].append(ev["device"] if ev else None)
    con = duckdb.connect()
    con.register("published_arrow", pa.table(rows))
    w, l_ = window_seconds[0] * 1000, allowed_lateness_seconds * 1000
    sizes = ", ".join(f"({s})" for s in window_seconds)
    con.execute(f"""
        CREATE TABLE published AS SELECT * FROM published_arrow;
        -- per-partition watermark: max event time of the decodable events before this one in the log
        CREATE TABLE classified AS
        WITH decoded AS (
            SELECT *, event_time_ms - event_time_ms % {w} AS window_start_ms,
                   max(event_time_ms) OVER (PARTITION BY kafka_partition ORDER BY kafka_offset
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS watermark_before
            FROM published WHERE kind NOT LIKE 'malformed:%'),
        timed AS (
            SELECT *, coalesce(window_start_ms + {w} + {l_} <= watermark_before, false) AS is_late FROM decoded),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY kafka_partition, kafka_offset) AS copy_no
            FROM timed WHERE NOT is_late)
        SELECT kafka_partition, kafka_offset, 'late' AS outcome FROM timed WHERE is_late
        UNION ALL SELECT kafka_partition, kafka_offset, CASE WHEN copy_no = 1 THEN 'accepted' ELSE 'duplicate' END FROM ranked
        UNION ALL SELECT kafka_partition, kafka_offset, 'dead_letter:' || substr(kind, 11) FROM published WHERE kind LIKE 'malformed:%';

        -- every size holds every accepted event (late is judged against the smallest size above)
        CREATE TABLE expected_windows AS
        SELECT p.event_time_ms - p.event_time_ms % (z.size * 1000) AS window_start_ms, z.size AS window_seconds, b.brand,
               p.platform, p.event_type, p.device,
               count(*) AS events, sum({WEIGHTS_SQL}) AS engagement_points, sum({REACH_SQL}) AS reach,
               count(*) FILTER (WHERE p.event_type = 'view') AS impressions
        FROM published p JOIN classified c USING (kafka_partition, kafka_offset),
             LATERAL (SELECT unnest(CASE WHEN len(p.brands) = 0 THEN ['unattributed'] ELSE p.brands END) AS brand) b,
             (VALUES {sizes}) z(size)
        WHERE c.outcome = 'accepted'
        GROUP BY ALL;

        -- first brand answer to each accepted customer message
        CREATE TABLE expected_care AS
        WITH accepted AS (SELECT p.* FROM published p JOIN classified c USING (kafka_partition, kafka_offset) WHERE c.outcome = 'accepted')
        SELECT m.event_id, (min(r.event_time_ms) - m.event_time_ms) // 1000 AS response_seconds
        FROM accepted m JOIN accepted r ON r.parent_id = m.event_id AND r.is_brand_account
        WHERE NOT m.is_brand_account GROUP BY m.event_id, m.event_time_ms;
    """)
    return con


def warehouse_windows(con: duckdb.DuckDBPyConnection) -> set[tuple]:
    """The windows without the dimensions only the classifiers know (language, sentiment)."""
    return set(
        con.execute("""
        SELECT epoch_ms(window_start), window_seconds, brand, platform, event_type, device,
               sum(events), sum(engagement_points), sum(reach), sum(impressions)
        FROM engagement_window GROUP BY ALL""").fetchall()
    )


def warehouse_outcomes(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("""
        SELECT kafka_partition, kafka_offset, 'accepted' FROM fact_events
        UNION ALL SELECT kafka_partition, kafka_offset, 'duplicate' FROM duplicate_events
        UNION ALL SELECT kafka_partition, kafka_offset, 'late' FROM late_events
        UNION ALL SELECT kafka_partition, kafka_offset, 'dead_letter:' || reason FROM dead_letters""").fetchall()
