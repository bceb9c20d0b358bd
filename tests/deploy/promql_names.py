"""Which metric names a PromQL expression reads, so tests can hold rules and dashboards to
the metrics that pipelines/io/metrics.py really exports.

Not a PromQL parser: a tokenizer plus the rules that tell a metric name apart from every
other identifier. An identifier is a metric name unless it is
- a function or aggregation (followed by ``(``, or an aggregation followed by ``by``/``without``),
- a keyword (``and``, ``or``, ``unless``, ``bool``, ``offset``, ``atan2``, ``inf``, ``nan``...),
- a label name: inside ``{...}`` matchers or in the list after ``by``, ``without``, ``on``,
  ``ignoring``, ``group_left``, ``group_right``,
- inside a string, a ``[range]`` / ``[range:step]``, or a Grafana variable (``$__rate_interval``,
  ``${var}``, ``[[var]]``).
A ``{__name__="x"}`` matcher names metric ``x``. Recording-rule names (they contain ``:``)
resolve to the metric names of their own expressions. Text the tokenizer does not know raises
``PromQLSyntaxError`` rather than being skipped, so a checker built on this fails loudly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from prometheus_client import CollectorRegistry

# Keywords whose following parenthesised list holds label names, not expressions.
LABEL_LIST_KEYWORDS = frozenset("by without on ignoring group_left group_right".split())
KEYWORDS = frozenset("and or unless atan2 bool offset inf nan".split()) | LABEL_LIST_KEYWORDS
# Aggregations may put their grouping first: `sum by (job) (x)`.
AGGREGATIONS = frozenset("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split())

# Series names Prometheus adds itself to every scrape target.
PROMETHEUS_BUILTINS = frozenset({"up"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[\w+(?::\w+)?\]\])
  | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?:[a-zA-Z]+(?:\d+[a-zA-Z]+)*)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],:@])
""",
    re.VERBOSE,
)

_CLOSING = {"(": ")", "[": "]", "{": "}"}


class PromQLSyntaxError(ValueError):
    """The expression holds text this tokenizer does not understand, or unbalanced brackets."""


class Token(NamedTuple):
    kind: str  # string, var, number, ident, op
    text: str


def tokenize(expr: str) -> list[Token]:
    """PromQL tokens of ``expr``, without whitespace and comments."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise PromQLSyntaxError(f"cannot tokenize {expr[pos : pos + 20]!r} at offset {pos} of {expr!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, m.group()))
        pos = m.end()
    return tokens


def _check_balanced(tokens: list[Token], expr: str) -> None:
    stack: list[str] = []
    for tok in tokens:
        if tok.kind != "op":
            continue
        if tok.text in _CLOSING:
            stack.append(tok.text)
        elif tok.text in _CLOSING.values():
            if not stack or _CLOSING[stack.pop()] != tok.text:
                raise PromQLSyntaxError(f"unbalanced {tok.text!r} in {expr!r}")
    if stack:
        raise PromQLSyntaxError(f"unclosed {stack[-1]!r} in {expr!r}")


def _skip_group(tokens: list[Token], start: int) -> int:
    """Index just after the bracket that closes ``tokens[start]`` (an opening bracket)."""
    depth = 0
    for i in range(start, len(tokens)):
        tok = tokens[i]
        if tok.kind == "op" and tok.text in _CLOSING:
            depth += 1
        elif tok.kind == "op" and tok.text in _CLOSING.values():
            depth -= 1
            if depth == 0:
                return i + 1
    raise AssertionError("unreachable: brackets are checked before the walk")


def _names_in_matchers(tokens: list[Token], start: int, end: int) -> set[str]:
    """Metric names that ``{...}`` matchers select by ``__name__="..."``."""
    names = set()
    for i in range(start, end - 2):
        name, op, value = tokens[i], tokens[i + 1], tokens[i + 2]
        if name == Token("ident", "__name__") and op.text == "=" and value.kind == "string":
            names.add(value.text[1:-1])
    return names


def referenced_names(expr: str) -> set[str]:
    """Every metric or recording-rule name ``expr`` reads, unresolved."""
    tokens = tokenize(expr)
    _check_balanced(tokens, expr)
    names: set[str] = set()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == "op" and tok.text == "{":
            end = _skip_group(tokens, i)
            names |= _names_in_matchers(tokens, i + 1, end - 1)
            i = end
            continue
        if tok.kind == "op" and tok.text == "[":
            i = _skip_group(tokens, i)  # range or subquery: durations and variables only
            continue
        if tok.kind == "ident":
            word = tok.text.lower()
            opens = nxt is not None and nxt == Token("op", "(")
            if word in LABEL_LIST_KEYWORDS:
                i = _skip_group(tokens, i + 1) if opens else i + 1
                continue
            grouped = nxt is not None and nxt.kind == "ident" and nxt.text.lower() in ("by", "without")
            if word in KEYWORDS or opens or (word in AGGREGATIONS and grouped):
                i += 1
                continue
            names.add(tok.text)
        i += 1
    return names


def resolve_names(expr: str, recording_rules: Mapping[str, str]) -> set[str]:
    """Metric names ``expr`` reads, recording rules replaced by what their expressions read.

    A name with ``:`` that no recording rule defines stays in the result, to be reported.
    """
    resolved: set[str] = set()
    seen: set[str] = set()
    pending = list(referenced_names(expr))
    while pending:
        name = pending.pop()
        if name in recording_rules:
            if name not in seen:
                seen.add(name)
                pending.extend(referenced_names(recording_rules[name]))
        else:
            resolved.add(name)
    return resolved


def exported_series_names(registry: CollectorRegistry) -> set[str]:
    """Series names a scrape of ``registry`` can return, whether or not a sample exists yet.

    Counters expose ``<name>_total``; histograms ``_bucket``, ``_sum`` and ``_count``. The
    ``_created`` series prometheus-client adds are left out on purpose: nothing should query
    them.
    """
    names: set[str] = set()
    for family in registry.collect():
        base = family.name
        if family.type == "counter":
            names.add(f"{base}_total")
        elif family.type in ("histogram", "gaugehistogram"):
            names |= {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
        elif family.type == "summary":
            names |= {base, f"{base}_sum", f"{base}_count"}
        elif family.type == "info":
            names.add(f"{base}_info")
        else:  # gauge, stateset, unknown
            names.add(base)
    return names


def unknown_names(
    expr: str, exported: Iterable[str], recording_rules: Mapping[str, str], builtins: Iterable[str] = PROMETHEUS_BUILTINS
) -> list[str]:
    """Names ``expr`` reads, after resolving recording rules, that nothing exports."""
    known = set(exported) | set(builtins)
    return sorted(resolve_names(expr, recording_rules) - known)


def iter_panels(dashboard: Mapping) -> Iterator[Mapping]:
    """Every panel of a Grafana dashboard, rows and the panels of collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from iter_panels(panel)
