-- Ascolto warehouse, schema version 4 (PostgreSQL dialect; same tables and columns as duckdb.sql).
-- Every input record ends in exactly one of: fact_events (accepted), duplicate_events,
-- late_events, dead_letters. All tables below are written in one transaction per
-- micro-batch, together with source_offsets: a crash replays the uncommitted range.
-- Times are UTC (TIMESTAMP columns hold UTC wall time).

CREATE TABLE IF NOT EXISTS warehouse_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Aggregates: one row per event-time window (start, size: every --window-seconds size) and key.
-- Every size holds every accepted event once (lateness is judged against the smallest size), so
-- read one size at a time: engagement_by_hour / engagement_by_day below choose it.
-- `pane_index` counts the changes of the row from 0 and `revision` = pane_index + 1: one per
-- micro-batch that changed it (embedded) or per Beam pane (streaming), plus the final one;
-- `pane_timing` is EARLY, ON_TIME, LATE (README "Metric definitions") or FINAL, set with
-- `is_final` once every partition's watermark has passed window_end + allowed lateness (no later
-- event can change it any more).
CREATE TABLE IF NOT EXISTS engagement_window (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    window_seconds INTEGER NOT NULL,
    brand TEXT NOT NULL,
    platform TEXT NOT NULL,
    event_type TEXT NOT NULL,
    lang TEXT NOT NULL,
    device TEXT NOT NULL,
    sentiment TEXT NOT NULL,
    events BIGINT NOT NULL,
    engagement_points BIGINT NOT NULL,
    reach BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    pane_index INTEGER NOT NULL,
    pane_timing TEXT NOT NULL,
    is_final BOOLEAN NOT NULL,
    metric_version TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (window_start, window_seconds, brand, platform, event_type, lang, device, sentiment)
);

-- Strengths and weaknesses over time: per window, brand, aspect and polarity, the customer posts
-- (brand accounts left out) whose aspects name it, once per post; the same life cycle as
-- engagement_window (revision, pane_index, pane_timing, is_final).
CREATE TABLE IF NOT EXISTS aspect_window (
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    window_seconds INTEGER NOT NULL,
    brand TEXT NOT NULL,
    aspect TEXT NOT NULL,
    polarity TEXT NOT NULL,
    mentions BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    pane_index INTEGER NOT NULL,
    pane_timing TEXT NOT NULL,
    is_final BOOLEAN NOT NULL,
    metric_version TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (window_start, window_seconds, brand, aspect, polarity)
);

-- Accepted events, one row each (append-only facts for drill-down).
CREATE TABLE IF NOT EXISTS fact_events (
    event_id TEXT NOT NULL,
    event_time TIMESTAMP NOT NULL,
    ingest_time TIMESTAMP NOT NULL,
    platform TEXT NOT NULL,
    event_type TEXT NOT NULL,
    reaction_kind TEXT,
    review_rating INTEGER,
    author_id TEXT NOT NULL,
    author_handle TEXT NOT NULL,
    author_follower_count BIGINT NOT NULL,
    author_is_brand_account BOOLEAN NOT NULL,
    text TEXT,
    thread_id TEXT,
    parent_id TEXT,
    channel_owner TEXT,
    device TEXT NOT NULL,
    lang TEXT NOT NULL,
    brands TEXT[] NOT NULL,
    engagement_points INTEGER NOT NULL,
    reach BIGINT NOT NULL,
    metric_version TEXT NOT NULL,
    topic TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_timestamp TIMESTAMP NOT NULL,
    batch_id BIGINT NOT NULL,
    -- What the text says (enrichment, README "Enrichment"); 'unknown' without text or models.
    sentiment TEXT NOT NULL DEFAULT 'unknown',       -- negative | neutral | positive | unknown
    sentiment_score DOUBLE PRECISION NOT NULL DEFAULT 0, -- P(positive) - P(negative), in [-1, 1]
    emotion TEXT NOT NULL DEFAULT 'unknown',
    intent TEXT NOT NULL DEFAULT 'unknown',          -- complaint | question | praise | purchase_intent | churn_threat | other
    is_offensive BOOLEAN,                              -- NULL when unknown
    aspects TEXT[] NOT NULL DEFAULT '{}',         -- 'category:polarity', e.g. 'support:negative'
    nlp_version TEXT NOT NULL DEFAULT '',
    -- Per-event scores (README "Metric definitions": influence-v1, crisis-risk-v1), in [0, 1]
    influence DOUBLE PRECISION NOT NULL DEFAULT 0,
    crisis_risk DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- Text sketch (pipelines/text_sketch.py, dedup-v1), NULL without letters in the text:
    -- signed 64-bit fingerprint of the normalised text, signed 64-bit SimHash, token count.
    text_fingerprint BIGINT,
    text_simhash BIGINT,
    text_tokens INTEGER
);

-- Schema 1 -> 2: the enrichment columns, added in place to warehouses created before them.
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS sentiment TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS sentiment_score DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS emotion TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS intent TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS is_offensive BOOLEAN;
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS aspects TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS nlp_version TEXT NOT NULL DEFAULT '';

-- Schema 2 -> 3: the per-event scores influence-v1 and crisis-risk-v1 (0 on rows written before them).
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS influence DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS crisis_risk DOUBLE PRECISION NOT NULL DEFAULT 0;

-- Schema 3 -> 4: the text sketch columns (dedup-v1); NULL on rows written before them.
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS text_fingerprint BIGINT;
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS text_simhash BIGINT;
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS text_tokens INTEGER;

-- Dedup state: ids accepted within the retention (evicted by event time).
CREATE TABLE IF NOT EXISTS dedup_event_ids (
    event_id TEXT PRIMARY KEY,
    event_time_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS duplicate_events (
    topic TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

-- Events whose window had closed (window_end + allowed lateness <= partition watermark).
-- Counted and kept with their original bytes, never aggregated.
CREATE TABLE IF NOT EXISTS late_events (
    topic TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_time TIMESTAMP NOT NULL,
    window_start TIMESTAMP NOT NULL,
    watermark TIMESTAMP NOT NULL,
    record_value BYTEA,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS dead_letters (
    topic TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    step TEXT NOT NULL,
    record_key BYTEA,
    record_value BYTEA,
    recorded_at TIMESTAMP NOT NULL,
    batch_id BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

-- The authoritative consumer position and per-partition watermark.
CREATE TABLE IF NOT EXISTS source_offsets (
    topic TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    max_event_time_ms BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);

-- One row per committed micro-batch: the accounting, auditable.
CREATE TABLE IF NOT EXISTS batches (
    batch_id BIGINT PRIMARY KEY,
    topic TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    committed_at TIMESTAMP NOT NULL,
    consumed BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    late BIGINT NOT NULL,
    dead_letters BIGINT NOT NULL,
    window_rows BIGINT NOT NULL,
    watermark TIMESTAMP,
    pipeline_seconds DOUBLE PRECISION NOT NULL,
    commit_seconds DOUBLE PRECISION NOT NULL
);

-- One window size per hour and per day, so that no event is counted once per size: for each
-- hour, the rows of the largest size that divides an hour among the sizes with rows in that hour
-- (3600 s when present, else 60 s...); for each day, likewise with a day. Every size holds every
-- accepted event once, so either reads each event once. The BI views below read these.
CREATE OR REPLACE VIEW engagement_by_hour AS
WITH size_of AS (
    SELECT date_trunc('hour', window_start) AS hour, max(window_seconds) AS size
    FROM engagement_window WHERE 3600 % window_seconds = 0 GROUP BY 1)
SELECT s.hour, w.*
FROM engagement_window w JOIN size_of s ON date_trunc('hour', w.window_start) = s.hour AND w.window_seconds = s.size;

CREATE OR REPLACE VIEW engagement_by_day AS
WITH size_of AS (
    SELECT date_trunc('day', window_start) AS day, max(window_seconds) AS size
    FROM engagement_window WHERE 86400 % window_seconds = 0 GROUP BY 1)
SELECT s.day, w.*
FROM engagement_window w JOIN size_of s ON date_trunc('day', w.window_start) = s.day AND w.window_seconds = s.size;

-- BI views: the questions, named.
CREATE OR REPLACE VIEW v_mentions_by_brand_platform AS
SELECT brand, platform,
       sum(events) FILTER (WHERE event_type <> 'view') AS mentions_and_interactions,
       sum(engagement_points) AS engagement_points,
       sum(reach) AS reach,
       sum(impressions) AS impressions
FROM engagement_by_day
GROUP BY brand, platform;

CREATE OR REPLACE VIEW v_dead_letters_by_reason AS
SELECT reason, step, count(*) AS records, min(recorded_at) AS first_seen, max(recorded_at) AS last_seen
FROM dead_letters GROUP BY reason, step;

-- Dead-letter replay bookkeeping (ascolto dlq replay): when and where a dead letter was
-- re-published; a replayed record comes back as a new record with a new offset.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replayed_at TIMESTAMP;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replayed_to TEXT;

-- Customer care: each customer message that a brand account answered, with the delay of the
-- first answer (a reply whose parent is the message, by an account the brand owns).
CREATE OR REPLACE VIEW v_care_first_response AS
SELECT m.event_id, m.platform, m.event_type, m.event_time AS asked_at, min(r.event_time) AS first_answer_at,
       (SELECT array_agg(DISTINCT b) FROM fact_events r2, unnest(r2.brands) b WHERE r2.parent_id = m.event_id AND r2.author_is_brand_account)
         AS answered_by,
       floor(extract(epoch FROM min(r.event_time) - m.event_time))::BIGINT AS response_seconds
FROM fact_events m JOIN fact_events r ON r.parent_id = m.event_id AND r.author_is_brand_account
WHERE NOT m.author_is_brand_account
GROUP BY m.event_id, m.platform, m.event_type, m.event_time;

-- Brands and sectors, loaded from the catalog (unattributed events have no voice).
CREATE TABLE IF NOT EXISTS brand_dim (
    brand TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sector TEXT NOT NULL,
    role TEXT NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- Dedup beyond redeliveries, dedup-v1 (README "Metric definitions"): cross-posts and copy-paste
-- bursts, from the text sketches of fact_events (pipelines/text_sketch.py). Every flag is a
-- function of the accepted events alone (event time, then event id, breaks ties), so it is the
-- same whatever the arrival order, the batch boundaries or the path that wrote the rows.

-- Policy: a row overrides a default (INSERT INTO dedup_policy VALUES ('coordinated_min_authors', 8)).
--   cross_post_window_seconds   86400  how far back an author's earlier copy makes a cross-post
--   coordinated_window_seconds  3600   how close in time (either side) copies of a burst must be
--   coordinated_min_authors     5      distinct authors of near-duplicates that make a burst
--   coordinated_min_tokens      4      shorter texts ('grazie!', 'love it') never make a burst
-- The Hamming distance of near-duplicates is 3 in dedup-v1 (LSH banding depends on it).
CREATE TABLE IF NOT EXISTS dedup_policy (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE OR REPLACE VIEW v_dedup_policy AS
SELECT coalesce((SELECT value FROM dedup_policy WHERE name = 'cross_post_window_seconds'), 86400) AS cross_post_window_seconds,
       coalesce((SELECT value FROM dedup_policy WHERE name = 'coordinated_window_seconds'), 3600) AS coordinated_window_seconds,
       coalesce((SELECT value FROM dedup_policy WHERE name = 'coordinated_min_authors'), 5) AS coordinated_min_authors,
       coalesce((SELECT value FROM dedup_policy WHERE name = 'coordinated_min_tokens'), 4) AS coordinated_min_tokens,
       3 AS max_hamming_distance, 'dedup-v1' AS detector_version;

-- One row per flagged event: kind 'coordinated' (original_event_id is the campaign's cluster: the
-- earliest coordinated near-duplicate of the earliest coordinated near-duplicate of the event) or
-- else 'cross_post' (original_event_id: the author's earliest copy).
-- Candidates: mentions (posts, mentions, comments, replies, reviews, DMs, shares) with a sketch.
-- Near-duplicates: SimHash Hamming distance <= 3 (the same fingerprint implies distance 0); pairs
-- come from LSH banding (4 bands of 16 bits: two hashes within distance 3 share a band) inside
-- the time window, then are verified.
CREATE OR REPLACE VIEW v_event_dedup_flags AS
WITH p AS (SELECT * FROM v_dedup_policy),
s AS (
    SELECT event_id, event_time, author_id, parent_id IS NULL AS top_level, author_is_brand_account AS is_brand,
           text_fingerprint AS fp, text_simhash AS sh, text_tokens AS tokens
    FROM fact_events
    WHERE text_simhash IS NOT NULL AND event_type IN ('post', 'mention', 'comment', 'reply', 'review', 'direct_message', 'share')),
bands AS (
    SELECT s.*, r.band, (s.sh >> (16 * r.band)) & 65535 AS band_value
    FROM s, p, generate_series(0, 3) AS r(band)
    WHERE NOT s.is_brand AND s.tokens >= p.coordinated_min_tokens),
near AS (  -- coordinated candidates: near-duplicates within the window, either side (self included)
    SELECT DISTINCT a.event_id, b.event_id AS other_id, b.event_time AS other_time, b.author_id AS other_author
    FROM bands a JOIN bands b ON a.band = b.band AND a.band_value = b.band_value, p
    WHERE b.event_time BETWEEN a.event_time - p.coordinated_window_seconds * INTERVAL '1 second'
                           AND a.event_time + p.coordinated_window_seconds * INTERVAL '1 second'
      AND bit_count((a.sh # b.sh)::bit(64)) <= 3),
coordinated AS (
    SELECT n.event_id FROM near n, p GROUP BY n.event_id, p.coordinated_min_authors
    HAVING count(DISTINCT n.other_author) >= p.coordinated_min_authors),
clustered AS (
    SELECT n.event_id, n.other_id AS cluster_event_id,
           row_number() OVER (PARTITION BY n.event_id ORDER BY n.other_time, n.other_id) AS pos
    FROM near n JOIN coordinated c ON c.event_id = n.event_id JOIN coordinated o ON o.event_id = n.other_id),
crossed AS (  -- the same author's earlier near-duplicate top-level publication, within the window
    SELECT a.event_id, b.event_id AS original_event_id,
           row_number() OVER (PARTITION BY a.event_id ORDER BY b.event_time, b.event_id) AS pos
    FROM s a JOIN s b ON a.author_id = b.author_id, p
    WHERE a.top_level AND b.top_level
      AND (b.event_time < a.event_time OR (b.event_time = a.event_time AND b.event_id < a.event_id))
      AND b.event_time >= a.event_time - p.cross_post_window_seconds * INTERVAL '1 second'
      AND (a.fp = b.fp OR bit_count((a.sh # b.sh)::bit(64)) <= 3))
SELECT c.event_id, 'coordinated' AS kind, r.cluster_event_id AS original_event_id, 'dedup-v1' AS detector_version
FROM clustered c JOIN clustered r ON r.event_id = c.cluster_event_id AND r.pos = 1  -- two hops: a chain of edits is one campaign
WHERE c.pos = 1
UNION ALL
SELECT x.event_id, 'cross_post', x.original_event_id, 'dedup-v1'
FROM crossed x LEFT JOIN coordinated c ON c.event_id = x.event_id WHERE x.pos = 1 AND c.event_id IS NULL;

-- Copy-paste campaigns: one row per cluster (its earliest coordinated event) and brand named by
-- its events ('unattributed' when none): when, how many authors and events, a sample text.
CREATE OR REPLACE VIEW v_coordinated_campaigns AS
WITH e AS (
    SELECT x.original_event_id AS cluster_event_id, f.event_id, f.event_time, f.author_id,
           unnest(CASE WHEN cardinality(f.brands) = 0 THEN ARRAY['unattributed'] ELSE f.brands END) AS brand
    FROM v_event_dedup_flags x JOIN fact_events f USING (event_id)
    WHERE x.kind = 'coordinated')
SELECT e.brand, e.cluster_event_id, min(e.event_time) AS first_seen, max(e.event_time) AS last_seen,
       count(DISTINCT e.author_id) AS authors, count(DISTINCT e.event_id) AS events,
       min(c.text) AS sample_text, 'dedup-v1' AS detector_version
FROM e JOIN fact_events c ON c.event_id = e.cluster_event_id
GROUP BY e.brand, e.cluster_event_id;

-- Every dropped or flagged event by kind: redeliveries (dropped, table duplicate_events) and
-- the dedup-v1 flags (kept in fact_events, counted apart by the organic-voice views).
CREATE OR REPLACE VIEW v_duplicates_by_kind AS
WITH k(kind, action) AS (VALUES ('redelivery', 'dropped'), ('cross_post', 'flagged'), ('coordinated', 'flagged')),
n AS (
    SELECT kind, count(*) AS events FROM duplicate_events GROUP BY kind
    UNION ALL
    SELECT kind, count(*) FROM v_event_dedup_flags GROUP BY kind)
SELECT k.kind, k.action, coalesce(sum(n.events), 0)::BIGINT AS events, 'dedup-v1' AS detector_version
FROM k LEFT JOIN n USING (kind) GROUP BY k.kind, k.action;

-- The accepted events that dedup-v1 did not flag (an anti-join: a correlated NOT EXISTS over the
-- flags view made DuckDB's plan blow up on 20k events).
CREATE OR REPLACE VIEW v_organic_events AS
SELECT f.* FROM fact_events f LEFT JOIN v_event_dedup_flags x ON x.event_id = f.event_id
WHERE x.event_id IS NULL;

-- The organic mentions, the mention basis of share of voice: one row per (mention, brand) it is
-- about, every author; a cross-post counts at its original only, coordinated events not at all.
CREATE OR REPLACE VIEW v_organic_mentions AS
SELECT f.event_id, b.brand, f.event_time, f.platform, f.event_type, f.author_is_brand_account
FROM v_organic_events f, unnest(f.brands) AS b(brand)
WHERE f.event_type IN ('post', 'mention', 'comment', 'reply', 'review', 'direct_message', 'share');

-- Share of voice per hour and sector, on three bases: organic mentions (v_organic_mentions),
-- engagement points and reach (every accepted event, each platform's copy of a cross-post
-- included: engagement_window).
CREATE OR REPLACE VIEW v_share_of_voice_hourly AS
WITH engagement AS (
    SELECT date_trunc('hour', w.window_start) AS hour, d.sector, w.brand,
           sum(w.engagement_points) AS engagement_points, sum(w.reach) AS reach
    FROM engagement_by_hour w JOIN brand_dim d USING (brand)
    GROUP BY 1, 2, 3),
voice AS (
    SELECT date_trunc('hour', event_time) AS hour, brand, count(*) AS mentions FROM v_organic_mentions GROUP BY 1, 2),
per_brand AS (
    SELECT e.hour, e.sector, e.brand, coalesce(v.mentions, 0) AS mentions, e.engagement_points, e.reach
    FROM engagement e LEFT JOIN voice v ON v.hour = e.hour AND v.brand = e.brand)
SELECT hour, sector, brand, mentions, engagement_points, reach,
       mentions::DOUBLE PRECISION / nullif(sum(mentions) OVER (PARTITION BY hour, sector), 0) AS sov_mentions,
       engagement_points::DOUBLE PRECISION / nullif(sum(engagement_points) OVER (PARTITION BY hour, sector), 0) AS sov_engagement,
       reach::DOUBLE PRECISION / nullif(sum(reach) OVER (PARTITION BY hour, sector), 0) AS sov_reach
FROM per_brand;

-- ---------------------------------------------------------------------------------------------
-- Analytics (issue 5): indices as BI views, customer-care SLA, strengths and weaknesses, crisis
-- episodes. Formulas and versions: README, "Metric definitions". Customer voice excludes what
-- brand accounts write (their posts and care replies are not what people say about them).

-- Share of voice per day and sector, the same three bases as v_share_of_voice_hourly.
CREATE OR REPLACE VIEW v_share_of_voice_daily AS
WITH engagement AS (
    SELECT date_trunc('day', w.window_start) AS day, d.sector, w.brand,
           sum(w.engagement_points) AS engagement_points, sum(w.reach) AS reach
    FROM engagement_by_day w JOIN brand_dim d USING (brand)
    GROUP BY 1, 2, 3),
voice AS (
    SELECT date_trunc('day', event_time) AS day, brand, count(*) AS mentions FROM v_organic_mentions GROUP BY 1, 2),
per_brand AS (
    SELECT e.day, e.sector, e.brand, coalesce(v.mentions, 0) AS mentions, e.engagement_points, e.reach
    FROM engagement e LEFT JOIN voice v ON v.day = e.day AND v.brand = e.brand)
SELECT day, sector, brand, mentions, engagement_points, reach,
       mentions::DOUBLE PRECISION / nullif(sum(mentions) OVER (PARTITION BY day, sector), 0) AS sov_mentions,
       engagement_points::DOUBLE PRECISION / nullif(sum(engagement_points) OVER (PARTITION BY day, sector), 0) AS sov_engagement,
       reach::DOUBLE PRECISION / nullif(sum(reach) OVER (PARTITION BY day, sector), 0) AS sov_reach
FROM per_brand;

-- Sentiment of the customer voice (mentions written by non-brand accounts), one row per
-- (mention, brand) it is about: the crisis detector's base (a spam wave is news too).
CREATE OR REPLACE VIEW v_brand_mentions_sentiment AS
SELECT f.event_id, b.brand, f.event_time, f.platform, f.event_type, f.lang,
       f.sentiment, f.sentiment_score, f.intent, f.nlp_version, f.aspects, f.text, f.batch_id
FROM fact_events f, unnest(f.brands) AS b(brand)
WHERE NOT f.author_is_brand_account
  AND f.event_type IN ('post', 'mention', 'comment', 'reply', 'review', 'direct_message', 'share');

-- The organic customer voice, the base of the net-sentiment views: without cross-posts (counted
-- at their original) and coordinated events (v_event_dedup_flags).
CREATE OR REPLACE VIEW v_brand_mentions_organic AS
SELECT m.* FROM v_brand_mentions_sentiment m LEFT JOIN v_event_dedup_flags x ON x.event_id = m.event_id
WHERE x.event_id IS NULL;

-- Net sentiment, net-sentiment-v1, two formulas side by side (pos, neu, neg: mention counts):
--   net_sentiment_ratio = (pos - neg) / (pos + neg)          polar mentions only; NULL without any
--   net_sentiment_share = (pos - neg) / (pos + neu + neg)    every mention with a known sentiment
CREATE OR REPLACE VIEW v_net_sentiment_hourly AS
WITH c AS (
    SELECT date_trunc('hour', event_time) AS hour, brand, count(*) AS mentions,
           count(*) FILTER (WHERE sentiment = 'positive') AS positive,
           count(*) FILTER (WHERE sentiment = 'neutral') AS neutral,
           count(*) FILTER (WHERE sentiment = 'negative') AS negative,
           count(*) FILTER (WHERE sentiment IS NULL OR sentiment NOT IN ('positive', 'neutral', 'negative')) AS unknown,
           avg(sentiment_score) FILTER (WHERE sentiment IN ('positive', 'neutral', 'negative')) AS mean_sentiment_score,
           string_agg(DISTINCT nlp_version, ',' ORDER BY nlp_version) AS nlp_versions
    FROM v_brand_mentions_organic GROUP BY 1, 2)
SELECT hour, brand, mentions, positive, neutral, negative, unknown,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + negative, 0) AS net_sentiment_ratio,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + neutral + negative, 0) AS net_sentiment_share,
       mean_sentiment_score, 'net-sentiment-v1' AS formula_version, nlp_versions
FROM c;

CREATE OR REPLACE VIEW v_net_sentiment_daily AS
WITH c AS (
    SELECT date_trunc('day', event_time) AS day, brand, count(*) AS mentions,
           count(*) FILTER (WHERE sentiment = 'positive') AS positive,
           count(*) FILTER (WHERE sentiment = 'neutral') AS neutral,
           count(*) FILTER (WHERE sentiment = 'negative') AS negative,
           count(*) FILTER (WHERE sentiment IS NULL OR sentiment NOT IN ('positive', 'neutral', 'negative')) AS unknown,
           avg(sentiment_score) FILTER (WHERE sentiment IN ('positive', 'neutral', 'negative')) AS mean_sentiment_score,
           string_agg(DISTINCT nlp_version, ',' ORDER BY nlp_version) AS nlp_versions
    FROM v_brand_mentions_organic GROUP BY 1, 2)
SELECT day, brand, mentions, positive, neutral, negative, unknown,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + negative, 0) AS net_sentiment_ratio,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + neutral + negative, 0) AS net_sentiment_share,
       mean_sentiment_score, 'net-sentiment-v1' AS formula_version, nlp_versions
FROM c;

-- Over everything in the warehouse, per brand (ratios are not additive: never sum the hours).
CREATE OR REPLACE VIEW v_net_sentiment_by_brand AS
WITH c AS (
    SELECT brand, count(*) AS mentions,
           count(*) FILTER (WHERE sentiment = 'positive') AS positive,
           count(*) FILTER (WHERE sentiment = 'neutral') AS neutral,
           count(*) FILTER (WHERE sentiment = 'negative') AS negative,
           count(*) FILTER (WHERE sentiment IS NULL OR sentiment NOT IN ('positive', 'neutral', 'negative')) AS unknown,
           avg(sentiment_score) FILTER (WHERE sentiment IN ('positive', 'neutral', 'negative')) AS mean_sentiment_score,
           string_agg(DISTINCT nlp_version, ',' ORDER BY nlp_version) AS nlp_versions
    FROM v_brand_mentions_organic GROUP BY 1)
SELECT brand, mentions, positive, neutral, negative, unknown,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + negative, 0) AS net_sentiment_ratio,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + neutral + negative, 0) AS net_sentiment_share,
       mean_sentiment_score, 'net-sentiment-v1' AS formula_version, nlp_versions
FROM c;

-- Engagement by depth, engagement-depth-v1 (by engagement-v1 weight): passive = views
-- (weight 0), light = reactions (weight 1), strong = everything that takes words or a
-- re-publication (weight 2 and more: posts, mentions, shares, comments, replies, reviews, DMs).
CREATE OR REPLACE VIEW v_engagement_depth_hourly AS
WITH c AS (
    SELECT hour, brand, platform,
           coalesce(sum(events) FILTER (WHERE event_type = 'view'), 0) AS passive_events,
           coalesce(sum(events) FILTER (WHERE event_type = 'reaction'), 0) AS light_events,
           coalesce(sum(events) FILTER (WHERE event_type NOT IN ('view', 'reaction')), 0) AS strong_events,
           coalesce(sum(engagement_points) FILTER (WHERE event_type = 'reaction'), 0) AS light_points,
           coalesce(sum(engagement_points) FILTER (WHERE event_type NOT IN ('view', 'reaction')), 0) AS strong_points
    FROM engagement_by_hour GROUP BY 1, 2, 3)
SELECT hour, brand, platform, passive_events, light_events, strong_events, light_points, strong_points,
       strong_events::DOUBLE PRECISION / nullif(light_events + strong_events, 0) AS strong_share,
       'engagement-depth-v1' AS depth_version
FROM c;

-- Customer care SLA per own brand (care-v1): how long an answer may take, 3600 s unless a row
-- here says otherwise (INSERT INTO care_sla_policy VALUES ('nuvola', 1800)).
CREATE TABLE IF NOT EXISTS care_sla_policy (
    brand TEXT PRIMARY KEY,
    sla_seconds INTEGER NOT NULL
);

-- One row per customer request and own brand it is addressed to: a post, mention, comment,
-- reply, review or DM by a non-brand account, about a brand with role 'own', whose intent is
-- complaint or question (or unknown, when that brand answered it anyway). The first answer is
-- the earliest reply whose parent is the request, by a brand account attributed to that brand.
-- overdue: unanswered while the newest event in the warehouse is past asked_at + the SLA.
CREATE OR REPLACE VIEW v_care_requests AS
WITH asked AS (
    SELECT m.event_id, b.brand, m.platform, m.event_type, coalesce(m.intent, 'unknown') AS intent, m.event_time AS asked_at
    FROM fact_events m, unnest(m.brands) AS b(brand), brand_dim d
    WHERE d.brand = b.brand AND d.role = 'own' AND NOT m.author_is_brand_account
      AND m.event_type IN ('post', 'mention', 'comment', 'reply', 'review', 'direct_message')),
answers AS (
    SELECT r.parent_id, b.brand, min(r.event_time) AS first_answer_at
    FROM fact_events r, unnest(r.brands) AS b(brand)
    WHERE r.author_is_brand_account AND r.parent_id IS NOT NULL
    GROUP BY 1, 2),
joined AS (
    SELECT a.*, x.first_answer_at, coalesce(p.sla_seconds, 3600) AS sla_seconds,
           floor(extract(epoch FROM x.first_answer_at - a.asked_at))::BIGINT AS response_seconds
    FROM asked a
    LEFT JOIN answers x ON x.parent_id = a.event_id AND x.brand = a.brand
    LEFT JOIN care_sla_policy p ON p.brand = a.brand
    WHERE a.intent IN ('complaint', 'question') OR (a.intent = 'unknown' AND x.first_answer_at IS NOT NULL))
SELECT event_id, brand, platform, event_type, intent, asked_at, first_answer_at, response_seconds,
       first_answer_at IS NOT NULL AS answered, sla_seconds,
       coalesce(response_seconds <= sla_seconds, false) AS answered_within_sla,
       first_answer_at IS NULL AND asked_at + sla_seconds * INTERVAL '1 second' < (SELECT max(event_time) FROM fact_events) AS overdue,
       'care-v1' AS care_version
FROM joined;

-- Per brand: sla_share = answered within the SLA / requests decided (answered, or overdue);
-- requests still inside their SLA without an answer are pending, neither hit nor miss.
-- Median and p90 over answered requests (continuous percentiles, seconds).
CREATE OR REPLACE VIEW v_care_sla_by_brand AS
SELECT brand, count(*) AS requests,
       count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE NOT answered) AS unanswered,
       count(*) FILTER (WHERE overdue) AS overdue,
       count(*) FILTER (WHERE answered_within_sla) AS answered_within_sla,
       count(*) FILTER (WHERE answered_within_sla)::DOUBLE PRECISION / nullif(count(*) FILTER (WHERE answered OR overdue), 0) AS sla_share,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds) AS median_response_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY response_seconds) AS p90_response_seconds,
       min(sla_seconds) AS sla_seconds, 'care-v1' AS care_version
FROM v_care_requests GROUP BY brand;

-- Care responses (care-v1), one row per customer request and own brand as in v_care_requests,
-- kept by both paths with one definition (pipelines/analytics/care.py): the streaming path's
-- stateful DoFn with event-time timers (pipelines/streaming/care.py), the embedded driver after
-- each commit. overdue_at (= asked_at + sla_seconds) is the real-time care alert: set once the
-- event-time window holding the SLA deadline is final (window_end + allowed lateness <= the
-- watermark) without an answer within the SLA; it stays set when a late answer comes after.
-- Rows only move forward: first_answer_at can only get earlier, overdue_at is set once.
CREATE TABLE IF NOT EXISTS care_response (
    request_id TEXT NOT NULL,
    brand TEXT NOT NULL,
    platform TEXT NOT NULL,
    event_type TEXT NOT NULL,
    intent TEXT NOT NULL,
    asked_at TIMESTAMP NOT NULL,
    first_answer_at TIMESTAMP,
    response_seconds BIGINT,
    sla_seconds INTEGER NOT NULL,
    overdue_at TIMESTAMP,
    care_version TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, brand, care_version)
);

-- Change marks of the streaming sink (pipelines/analytics/business.py): per committed bundle and
-- brand, the earliest event time written. `ascolto analytics --follow` hands them to crisis-v1
-- (what batch ids tell it on the embedded path) and deletes exactly the marks it used.
CREATE TABLE IF NOT EXISTS analytics_changes (
    change_id TEXT PRIMARY KEY,
    brand TEXT NOT NULL,
    min_event_time TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

-- Strengths and weaknesses: aspect x polarity of the organic customer voice (no cross-posts or
-- coordinated events), per brand. A post counts
-- once per aspect and polarity it carries ('support:negative' twice in one post is one negative
-- mention of support); mentions = posts naming the aspect. verdict: strength when positive
-- mentions outnumber negative ones, weakness when the reverse, mixed when equal.
CREATE OR REPLACE VIEW v_brand_aspects AS
WITH a AS (
    SELECT DISTINCT f.event_id, b.brand, split_part(x.aspect, ':', 1) AS aspect, split_part(x.aspect, ':', 2) AS polarity
    FROM v_organic_events f, unnest(f.brands) AS b(brand), unnest(f.aspects) AS x(aspect)
    WHERE NOT f.author_is_brand_account),
c AS (
    SELECT brand, aspect, count(DISTINCT event_id) AS mentions,
           count(*) FILTER (WHERE polarity = 'positive') AS positive,
           count(*) FILTER (WHERE polarity = 'neutral') AS neutral,
           count(*) FILTER (WHERE polarity = 'negative') AS negative
    FROM a GROUP BY 1, 2)
SELECT brand, aspect, mentions, positive, neutral, negative,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + negative, 0) AS net_aspect_ratio,
       CASE WHEN positive > negative THEN 'strength' WHEN negative > positive THEN 'weakness' ELSE 'mixed' END AS verdict
FROM c;

-- Strengths and weaknesses per hour (aspect_window, one window size per hour as engagement_by_hour):
-- the customer posts naming an aspect with each polarity; a post naming one aspect with two
-- polarities counts in both. Catalog brands only, as v_brand_aspects.
CREATE OR REPLACE VIEW v_brand_aspects_hourly AS
WITH size_of AS (
    SELECT date_trunc('hour', window_start) AS hour, max(window_seconds) AS size
    FROM aspect_window WHERE 3600 % window_seconds = 0 GROUP BY 1),
c AS (
    SELECT s.hour, a.brand, a.aspect,
           coalesce(sum(a.mentions) FILTER (WHERE a.polarity = 'positive'), 0) AS positive,
           coalesce(sum(a.mentions) FILTER (WHERE a.polarity = 'neutral'), 0) AS neutral,
           coalesce(sum(a.mentions) FILTER (WHERE a.polarity = 'negative'), 0) AS negative
    FROM aspect_window a JOIN size_of s ON date_trunc('hour', a.window_start) = s.hour AND a.window_seconds = s.size
    WHERE a.brand <> 'unattributed'
    GROUP BY 1, 2, 3)
SELECT hour, brand, aspect, positive, neutral, negative,
       (positive - negative)::DOUBLE PRECISION / nullif(positive + negative, 0) AS net_aspect_ratio,
       CASE WHEN positive > negative THEN 'strength' WHEN negative > positive THEN 'weakness' ELSE 'mixed' END AS verdict
FROM c;

-- Crisis episodes (pipelines/analytics/crisis.py, detector crisis-v1): written after commits
-- by update_crisis_episodes, recomputed for the brands and time range a commit affects.
CREATE TABLE IF NOT EXISTS crisis_episodes (
    brand TEXT NOT NULL,
    detector_version TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    peak_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    last_evaluated_at TIMESTAMP NOT NULL,
    baseline_per_hour DOUBLE PRECISION NOT NULL,
    peak_negatives_per_hour DOUBLE PRECISION NOT NULL,
    negative_mentions BIGINT NOT NULL,
    severity DOUBLE PRECISION NOT NULL,
    severity_level TEXT NOT NULL,
    top_terms TEXT[] NOT NULL,
    top_aspects TEXT[] NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (brand, detector_version, started_at)
);

CREATE OR REPLACE VIEW v_crisis_episodes AS
SELECT e.brand, d.name AS brand_name, d.sector, e.detector_version,
       CASE WHEN e.ended_at IS NULL THEN 'ongoing' ELSE 'ended' END AS status,
       e.started_at, e.peak_at, e.ended_at,
       extract(epoch FROM coalesce(e.ended_at, e.last_evaluated_at) - e.started_at) / 60 AS duration_minutes,
       e.baseline_per_hour, e.peak_negatives_per_hour, e.negative_mentions, e.severity, e.severity_level,
       e.top_terms, e.top_aspects, e.last_evaluated_at, e.computed_at
FROM crisis_episodes e LEFT JOIN brand_dim d USING (brand);

-- Time-range and per-commit reads (crisis detection after each commit, BI drill-down by time):
-- a server reads them from an index; DuckDB prunes by its zone maps and needs none.
CREATE INDEX IF NOT EXISTS fact_events_event_time ON fact_events (event_time);
CREATE INDEX IF NOT EXISTS fact_events_batch_id ON fact_events (batch_id);
