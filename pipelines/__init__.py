"""Ascolto: open-source social listening on Kafka, Apache Beam and a SQL warehouse."""

__version__ = "0.1.0"
