"""The streaming path: the engagement graph in Beam's streaming mode, for Flink and Dataflow.

The same composites as the embedded driver (``engagement.wire_engagement``), with the stateful
stages in Beam state (``state.py``), windows as Beam windows with watermark triggers and
accumulating panes (``panes.py``), an unbounded Kafka read (``source.py``), idempotent sinks
(``sink.py``), the graph (``graph.py``) and runner selection and checks (``runners.py``).
"""
