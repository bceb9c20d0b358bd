"""A realistic, seeded social event stream (``ascolto produce``)."""

from pipelines.generator.stream import GeneratedRecord, GeneratorConfig, EventTruth, generate_stream

__all__ = ["GeneratedRecord", "GeneratorConfig", "EventTruth", "generate_stream"]
