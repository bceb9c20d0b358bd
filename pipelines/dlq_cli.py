"""``ascolto dlq list|show|replay``: what an engineer does with dead letters after a fix."""

from __future__ import annotations

import argparse

from rich.table import Table

from pipelines.cli import console, open_existing_warehouse
from pipelines.config import DEFAULT_TOPIC, ConfigError, env_defaults, registry_spec
from pipelines.io import dead_letters as dlq
from pipelines.io.kafka import KafkaSettings
from pipelines.model import DeadLetterReason
from pipelines.wire import DecodeError, EventCodec


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in {r.value for r in DeadLetterReason}:
        raise ConfigError(f"--reason {reason!r} is not a dead-letter reason; one of: {', '.join(r.value for r in DeadLetterReason)}")


def cmd_dlq(args: argparse.Namespace) -> int:
    _check_reason(getattr(args, "reason", None))
    out = console()
    if args.dlq_command == "list":
        con = open_existing_warehouse(args.warehouse, read_only=True)
        t = Table(title="Dead letters by reason", title_justify="left")
        for col in ("reason", "step", "records", "replayed", "first seen", "last seen"):
            t.add_column(col, justify="right" if col in ("records", "replayed") else "left")
        for reason, step, n, replayed, first, last in dlq.reason_summary(con):
            if args.reason in (None, reason):
                t.add_row(reason, step, f"{n:,}", f"{replayed:,}", f"{first:%Y-%m-%d %H:%M:%S}", f"{last:%Y-%m-%d %H:%M:%S}")
        out.print(t)
        if args.records:
            r = Table(title=f"Latest {args.records} dead letters", title_justify="left")
            for col in ("topic", "partition", "offset", "reason", "step", "message", "bytes", "recorded", "replayed"):
                r.add_column(col)
            for row in dlq.recent(con, args.reason, args.records):
                r.add_row(*[str(x) if x is not None else "" for x in row[:7]], f"{row[7]:%H:%M:%S}", f"{row[8]:%H:%M:%S}" if row[8] else "")
            out.print(r)
        return 0
    if args.dlq_command == "show":
        con = open_existing_warehouse(args.warehouse, read_only=True)
        topic = args.topic or str(env_defaults().get("topic") or DEFAULT_TOPIC)
        row = dlq.one(con, topic, args.partition, args.offset)
        if row is None:
            raise ConfigError(f"no dead letter at {topic}[{args.partition}]@{args.offset}: see 'ascolto dlq list --records 20'")
        topic, p, o, reason, step, message, key, value, recorded, batch, replayed_at, replayed_to = row
        out.print(f"[bold]{topic}[{p}]@{o}[/bold]  reason [bold]{reason}[/bold]  step {step}  batch {batch}  recorded {recorded}")
        out.print(f"message: {message}")
        if replayed_at:
            out.print(f"replayed to {replayed_to} at {replayed_at}")
        out.print(f"key: {key!r}")
        value = value or b""
        out.print(f"value: {len(value):,} bytes; first 64 as hex: {value[:64].hex(' ')}")
        try:
            EventCodec().decode(value)
            out.print("decodes now with the current registry: replay it with 'ascolto dlq replay --only-fixed'")
        except DecodeError as err:
            out.print(f"still fails today: {err.reason.value}: {err}")
        return 0
    # replay
    env = env_defaults()
    servers = args.bootstrap_servers or env.get("bootstrap_servers")
    if not servers:
        raise ConfigError("no Kafka broker given: pass --bootstrap-servers HOST:PORT or set ASCOLTO_BOOTSTRAP_SERVERS")
    to_topic = args.to_topic or args.topic or str(env.get("topic") or DEFAULT_TOPIC)
    con = open_existing_warehouse(args.warehouse, read_only=False)
    settings = KafkaSettings(str(servers))
    settings.check_reachable()
    codec = EventCodec(registry_spec(args.schema_registry or str(env.get("schema_registry") or "") or None).open())
    result = dlq.replay(con, settings, to_topic, args.reason, only_fixed=args.only_fixed, include_replayed=args.again, codec=codec)
    con.close()
    out.print(
        f"selected {result.selected:,} dead letters; re-published {result.published:,} to {to_topic}; "
        f"{result.still_failing:,} still fail and stay where they are"
    )
    return 0
