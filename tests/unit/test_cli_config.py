"""Every job flag of ``ascolto run`` reaches the JobConfig the driver gets."""

import pytest

from pipelines.cli import build_parser, job_config
from pipelines.config import ConfigError


def test_each_run_flag_sets_its_field():
    args = build_parser().parse_args([
        "run", "--bootstrap-servers", "k1:9092,k2:9092", "--topic", "t", "--warehouse", "/tmp/w.duckdb", "--window-seconds", "300,3600",
        "--allowed-lateness-seconds", "120", "--dedup-retention-seconds", "7200", "--max-batch-records", "5000", "--chunk-records", "100",
        "--metrics-port", "9999", "--metrics-addr", "0.0.0.0", "--group-id", "g", "--workers", "2", "--kafka-client", "confluent",
        "--max-value-bytes", "4096", "--dead-letter-topic", "t.bad", "--schema-registry", "https://registry:8081",
        "--schema-registry-user", "u",
    ])  # fmt: skip
    job = job_config(args)
    assert (job.bootstrap_servers, job.topic, job.warehouse) == ("k1:9092,k2:9092", "t", "/tmp/w.duckdb")
    assert (job.window_seconds, job.allowed_lateness_seconds, job.dedup_retention_seconds) == ((300, 3600), 120, 7200)
    assert (job.max_batch_records, job.chunk_records, job.metrics_port, job.metrics_addr) == (5000, 100, 9999, "0.0.0.0")
    assert (job.group_id, job.workers, job.kafka_client, job.max_value_bytes, job.dlq_topic) == ("g", 2, "confluent", 4096, "t.bad")
    assert (job.schema_registry.location, job.schema_registry.auth.username) == ("https://registry:8081", "u")


def test_defaults_and_no_dead_letter_topic():
    job = job_config(build_parser().parse_args(["run", "--bootstrap-servers", "k:1", "--no-dead-letter-topic"]))
    assert (job.workers, job.kafka_client, job.dlq_topic, job.schema_registry.location) == (1, "kafka-python", "", None)
    assert job.window_seconds == (60, 3600) and job.smallest_window_seconds == 60


@pytest.mark.parametrize("flags, message", [(["--workers", "0"], "--workers 0"), (["--dead-letter-topic", "social.events"], "must differ")])
def test_bad_values_are_refused(flags, message):
    with pytest.raises(ConfigError, match=message):
        job_config(build_parser().parse_args(["run", "--bootstrap-servers", "k:1", *flags]))


@pytest.mark.parametrize(
    "sizes, message",
    [
        ("60,abc", "give window sizes in seconds separated by commas"),
        ("", "at least one window size"),
        ("0", "0 must be positive and divide a day"),
        ("7", "7 must be positive and divide a day"),
        ("300,720", "720 is not a multiple of 300"),
        ("60,120,300,600,3600", "at most 4 window sizes"),
    ],
)
def test_bad_window_sizes_stop_with_what_to_change(sizes, message):
    with pytest.raises(ConfigError, match=message):
        job_config(build_parser().parse_args(["run", "--bootstrap-servers", "k:1", "--window-seconds", sizes]))


def test_window_sizes_are_sorted_and_the_retention_must_cover_the_largest_window():
    job = job_config(build_parser().parse_args(["run", "--bootstrap-servers", "k:1", "--window-seconds", "3600,60"]))
    assert job.window_seconds == (60, 3600)
    with pytest.raises(ConfigError, match=r"largest window \+ allowed lateness \(3900\)"):
        job_config(build_parser().parse_args(["run", "--bootstrap-servers", "k:1", "--dedup-retention-seconds", "3000"]))
