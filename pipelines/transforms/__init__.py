"""Composite transforms, in the order data flows through them:
read -> decode -> lateness -> dedup -> enrich -> score -> aggregate."""
