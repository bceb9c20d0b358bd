"""Reading offset ranges from the real embedded broker, with both clients."""

import pytest

from pipelines.io.broker import create_topics
from pipelines.io.kafka import KafkaSettings, RangeReader, probe_new_records, publish
from pipelines.model import ReadRange, RecordChunk

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_a_reused_reader_reads_consecutive_ranges_to_the_end_of_the_log_and_no_further(broker, client):
    topic = f"io.reuse.{client}"
    create_topics(broker.bootstrap_servers, {topic: 3})
    coords = publish(
        KafkaSettings(broker.bootstrap_servers), topic, [(str(i).encode(), b"v%d" % i) for i in range(4000)], want_metadata=True
    )
    written = {p: sum(1 for q, _ in coords if q == p) for p in range(3)}
    reader = RangeReader(KafkaSettings(broker.bootstrap_servers, client=client))
    probe = KafkaSettings(broker.bootstrap_servers).consumer()
    start = {p: 0 for p in range(3)}
    seen: dict[int, list[int]] = {p: [] for p in range(3)}
    try:
        for _ in range(12):
            items = list(reader.read(topic, {p: (o, o + 500) for p, o in start.items()}, 200))
            for c in items:
                if isinstance(c, RecordChunk):
                    seen[c.partition].extend(r.offset for r in c.records)
            ranges = [x for x in items if isinstance(x, ReadRange)]
            assert all(x.end - x.start <= 500 for x in ranges)
            start = {x.partition: x.end for x in ranges}
        assert {p: len(offs) for p, offs in seen.items()} == written
        assert all(offs == list(range(len(offs))) for offs in seen.values())
        assert [x.highwater for x in sorted(ranges, key=lambda x: x.partition)] == [written[p] for p in range(3)]
        assert probe_new_records(probe, topic, start) == (False, {0: 0, 1: 0, 2: 0})
        assert probe_new_records(probe, topic, {0: written[0] - 3, 1: written[1], 2: written[2]}) == (True, {0: 3, 1: 0, 2: 0})
    finally:
        reader.close()
        probe.close()
