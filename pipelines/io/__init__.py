"""The edges: Kafka in, warehouse and Prometheus out, and the embedded broker."""
