"""A realistic, seeded social event stream (``ascolto produce``)."""

from pipelines.generator.stream import EventTruth, GeneratedRecord, GeneratorConfig, generate_stream

__all__ = ["GeneratedRecord", "GeneratorConfig", "EventTruth", "generate_stream"]
