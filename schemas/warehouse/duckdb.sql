-- Ascolto warehouse, schema version 1 (DuckDB dialect).
-- Every input record ends in exactly one of: fact_events (accepted), duplicate_events,
-- late_events, dead_letters. All tables below are written in one transaction per
-- micro-batch, together with source_offsets: a crash replays the uncommitted range.
-- Times are UTC (TIMESTAMP columns hold UTC wall time).

CREATE TABLE IF NOT EXISTS warehouse_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Aggregates: one row per event-time window and key. `revision` counts the micro-batches
-- that changed the row; `is_final` turns true once every partition's watermark has passed
-- window_end + allowed lateness (no later event can change it any more).
CREATE TABLE IF NOT EXISTS engagement_window (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    window_seconds INTEGER NOT NULL,
    brand VARCHAR NOT NULL,
    platform VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    lang VARCHAR NOT NULL,
    events BIGINT NOT NULL,
    engagement_points BIGINT NOT NULL,
    reach BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    is_final BOOLEAN NOT NULL,
    metric_version VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (window_start, window_seconds, brand, platform, event_type, lang)
);

-- Accepted events, one row each (append-only facts for drill-down).
CREATE TABLE IF NOT EXISTS fact_events (
    event_id VARCHAR NOT NULL,
    event_time TIMESTAMP NOT NULL,
    ingest_time TIMESTAMP NOT NULL,
    platform VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    reaction_kind VARCHAR,
    review_rating INTEGER,
    author_id VARCHAR NOT NULL,
    author_handle VARCHAR NOT NULL,
    author_follower_count BIGINT NOT NULL,
    author_is_brand_account BOOLEAN NOT NULL,
    text VARCHAR,
    thread_id VARCHAR,
    parent_id VARCHAR,
    channel_owner VARCHAR,
    device VARCHAR NOT NULL,
    lang VARCHAR NOT NULL,
    brands VARCHAR[] NOT NULL,
    engagement_points INTEGER NOT NULL,
    reach BIGINT NOT NULL,
    metric_version VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_timestamp TIMESTAMP NOT NULL,
    batch_id BIGINT NOT NULL
);

-- Dedup state: ids accepted within the retention (evicted by event time).
CREATE TABLE IF NOT EXISTS dedup_event_ids (
    event_id VARCHAR PRIMARY KEY,
    event_time_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS duplicate_events (
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

-- Events whose window had closed (window_end + allowed lateness <= partition watermark).
-- Counted and kept with their original bytes, never aggregated.
CREATE TABLE IF NOT EXISTS late_events (
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    event_time TIMESTAMP NOT NULL,
    window_start TIMESTAMP NOT NULL,
    watermark TIMESTAMP NOT NULL,
    record_value BLOB,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS dead_letters (
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    record_key BLOB,
    record_value BLOB,
    recorded_at TIMESTAMP NOT NULL,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

-- The authoritative consumer position and per-partition watermark.
CREATE TABLE IF NOT EXISTS source_offsets (
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    max_event_time_ms BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);

-- One row per committed micro-batch: the accounting, auditable.
CREATE TABLE IF NOT EXISTS batches (
    batch_id BIGINT PRIMARY KEY,
    topic VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    committed_at TIMESTAMP NOT NULL,
    consumed BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    late BIGINT NOT NULL,
    dead_letters BIGINT NOT NULL,
    window_rows BIGINT NOT NULL,
    watermark TIMESTAMP,
    pipeline_seconds DOUBLE NOT NULL,
    commit_seconds DOUBLE NOT NULL
);

-- BI views: the questions, named.
CREATE OR REPLACE VIEW v_mentions_by_brand_platform AS
SELECT brand, platform,
       sum(events) FILTER (WHERE event_type <> 'view') AS mentions_and_interactions,
       sum(engagement_points) AS engagement_points,
       sum(reach) AS reach,
       sum(impressions) AS impressions
FROM engagement_window
GROUP BY brand, platform;

CREATE OR REPLACE VIEW v_dead_letters_by_reason AS
SELECT reason, step, count(*) AS records, min(recorded_at) AS first_seen, max(recorded_at) AS last_seen
FROM dead_letters GROUP BY reason, step;

-- Dead-letter replay bookkeeping (ascolto dlq replay): when and where a dead letter was
-- re-published; a replayed record comes back as a new record with a new offset.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replayed_at TIMESTAMP;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replayed_to VARCHAR;

-- Customer care: each customer message that a brand account answered, with the delay of the
-- first answer (a reply whose parent is the message, by an account the brand owns).
CREATE OR REPLACE VIEW v_care_first_response AS
SELECT m.event_id, m.platform, m.event_type, m.event_time AS asked_at, min(r.event_time) AS first_answer_at,
       list_distinct(flatten(list(r.brands))) AS answered_by,
       (epoch_ms(min(r.event_time)) - epoch_ms(m.event_time)) // 1000 AS response_seconds
FROM fact_events m JOIN fact_events r ON r.parent_id = m.event_id AND r.author_is_brand_account
WHERE NOT m.author_is_brand_account
GROUP BY m.event_id, m.platform, m.event_type, m.event_time;

-- Share of voice per hour and sector, on three bases: mentions (posts, mentions, comments,
-- replies, reviews, DMs, shares), engagement points and reach. Brands from the catalog only
-- (unattributed events have no voice); sector from brand_dim (loaded from the catalog).
CREATE TABLE IF NOT EXISTS brand_dim (
    brand VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    sector VARCHAR NOT NULL,
    role VARCHAR NOT NULL
);

CREATE OR REPLACE VIEW v_share_of_voice_hourly AS
WITH per_brand AS (
    SELECT date_trunc('hour', w.window_start) AS hour, d.sector, w.brand,
           sum(w.events) FILTER (WHERE w.event_type IN ('post', 'mention', 'comment', 'reply', 'review', 'direct_message', 'share')) AS mentions,
           sum(w.engagement_points) AS engagement_points, sum(w.reach) AS reach
    FROM engagement_window w JOIN brand_dim d USING (brand)
    GROUP BY 1, 2, 3)
SELECT hour, sector, brand, mentions, engagement_points, reach,
       mentions::DOUBLE PRECISION / nullif(sum(mentions) OVER (PARTITION BY hour, sector), 0) AS sov_mentions,
       engagement_points::DOUBLE PRECISION / nullif(sum(engagement_points) OVER (PARTITION BY hour, sector), 0) AS sov_engagement,
       reach::DOUBLE PRECISION / nullif(sum(reach) OVER (PARTITION BY hour, sector), 0) AS sov_reach
FROM per_brand;
