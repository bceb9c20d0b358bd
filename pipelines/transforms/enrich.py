"""EnrichEvents: language, the catalog brands an event concerns, and what its text says.

Input: lists of event dicts. Output: the same lists, each event with
- ``lang``: 'it', 'en' or 'unknown' (no text, or no clear signal);
- ``brands``: catalog brand ids, in catalog order: brands named in the text (aliases,
  products, handles, hashtags) plus the owner of the page it happened on (``channel_owner``)
  plus the brand whose account wrote it. Empty when nothing attributes it;
- the text fields of ``TEXT_FIELDS`` from the configured ``Scorer`` (``pipelines.nlp.scorer``),
  scored once per chunk: ``sentiment`` ('negative', 'neutral', 'positive', or 'unknown' for an
  event without text or in a language without models), ``sentiment_score`` (P(positive) -
  P(negative), in [-1, 1], 0 when unknown), ``emotion``, ``intent``, ``is_offensive`` (None when
  unknown), ``aspects`` ('category:polarity' strings) and ``nlp_version``;
- the text sketch of ``pipelines.text_sketch`` (``text_fingerprint``, ``text_simhash``,
  ``text_tokens``; None without letters), for the warehouse's cross-post and copy-paste views.
An event it cannot attribute is counted as ``unattributed`` downstream. An event it cannot
process (``EnrichmentError``, e.g. a text beyond ``MAX_TEXT_CHARS``) goes to the
``dead_letters`` output with step ``enrich`` and its original bytes; it is not lost and does
not stop the batch.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import numpy as np

from pipelines.catalog import BrandMatcher, Catalog
from pipelines.language import detect_language_tokens
from pipelines.model import DeadLetter, DeadLetterReason
from pipelines.nlp.aspects import AspectTagger
from pipelines.nlp.scorer import UNKNOWN, Scorer, ScorerError, load_scorer
from pipelines.text import fold, tokenize
from pipelines.text_sketch import set_sketches

DEAD_LETTERS = "dead_letters"
STEP = "enrich"
MAX_TEXT_CHARS = 20_000  # longer than any platform allows: a collector bug, and a regex cost risk
SENTIMENT_NAMES = {"neg": "negative", "neu": "neutral", "pos": "positive"}
TEXT_FIELDS = ("sentiment", "sentiment_score", "emotion", "intent", "is_offensive", "aspects", "nlp_version")


class EnrichmentError(ValueError):
    """An event the enrichment cannot process."""


class EnrichResult(NamedTuple):
    events: beam.PCollection
    dead_letters: beam.PCollection


class BrandAttributor:
    def __init__(self, catalog: Catalog):
        self._matcher = BrandMatcher(catalog)
        self._owner = catalog.owner_of_handle()
        self._order = {b: i for i, b in enumerate(catalog.brand_ids)}

    def brands(self, event: dict, folded: str | None = None, tokens: list[str] | None = None) -> list[str]:
        if tokens is None:
            found = self._matcher.match(event["text"])
        else:
            found = self._matcher.match_tokens(folded or "", tokens)
        extra = []
        owner = event["channel_owner"]
        if owner:
            b = self._owner.get(fold(owner.lstrip("@")))
            if b:
                extra.append(b)
        author = event["author"]
        if author["is_brand_account"]:
            b = self._owner.get(fold(author["handle"].lstrip("@")))
            if b:
                extra.append(b)
        if not extra:
            return found
        return sorted(set(found).union(extra), key=self._order.__getitem__)


def enrich_event(e: dict, attributor: BrandAttributor) -> dict:
    return _enrich_event(e, attributor)[0]


def _enrich_event(e: dict, attributor: BrandAttributor) -> tuple[dict, str, list[str]]:
    """Sets language and brands; returns the event with its folded text and tokens (reused for mention spans)."""
    text = e["text"]
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise EnrichmentError(f"text of {len(text):,} characters is over the {MAX_TEXT_CHARS:,}-character limit")
    folded = fold(text) if text else ""
    tokens = tokenize(folded) if text else []
    lang = detect_language_tokens(tokens) if tokens else "unknown"
    if lang == "unknown" and e.get("lang_hint") in ("it", "en"):
        lang = e["lang_hint"]  # v2 producers may report the language; used when the text says nothing
    e["lang"] = lang
    e["brands"] = attributor.brands(e, folded, tokens)
    return e, folded, tokens


_tagger: AspectTagger | None = None


def default_tagger() -> AspectTagger:
    """The packaged catalog's aspect vocabularies and the shipped aspect models, loaded once per process."""
    global _tagger
    if _tagger is None:
        _tagger = AspectTagger.load()
    return _tagger


PROBE_TEXTS = {"it": "Il supporto non risponde, che delusione", "en": "Support never answers, so disappointing"}


def check_scorer(scorer: Scorer) -> None:
    """Scores one probe text per shipped language; raises ``ScorerError`` if that fails. A scorer
    that cannot score at all (models that do not match the featurisation, a plug-in whose server
    is down) must stop the job before it starts, not turn every event into a dead letter."""
    try:
        results = scorer.score(list(PROBE_TEXTS.values()), list(PROBE_TEXTS))
        if len(results) != len(PROBE_TEXTS) or not all("sentiment" in r for r in results):
            raise ValueError("it returned no sentiment field for the probe texts")
    except Exception as exc:  # noqa: BLE001 - anything a plug-in raises becomes one clear error
        raise ScorerError(f"scorer {scorer_version(scorer)} cannot score a probe text: {type(exc).__name__}: {exc}") from None


def scorer_version(scorer: Scorer) -> str:
    """What produced the text fields, stored on every row: a scorer's ``version`` attribute, else its class."""
    version = getattr(scorer, "version", None)
    if version:
        return str(version)
    profile = getattr(scorer, "profile", None)
    return f"{type(scorer).__name__}/{profile}" if profile else type(scorer).__name__


def _no_text_fields(e: dict, version: str) -> None:
    e.update(sentiment=UNKNOWN, sentiment_score=0.0, emotion=UNKNOWN, intent=UNKNOWN, is_offensive=None, aspects=[], nlp_version=version)


def _set_text_fields(e: dict, fields: dict, version: str) -> None:
    sentiment = fields["sentiment"]
    probs = sentiment.get("probs") or {}
    e["sentiment"] = SENTIMENT_NAMES.get(sentiment["label"], sentiment["label"])
    e["sentiment_score"] = round(float(probs.get("pos", 0.0)) - float(probs.get("neg", 0.0)), 4)
    e["emotion"] = fields["emotion"]["label"]
    e["intent"] = fields["intent"]["label"]
    offensive = fields["offensive"]["label"]
    e["is_offensive"] = None if offensive == UNKNOWN else offensive == "offensive"
    e["aspects"] = [f"{a['category']}:{a['polarity']}" for a in fields.get("aspects", ())]
    e["nlp_version"] = version


def _set_column_fields(chunk: list[dict], columns: dict, version: str, hits: list) -> None:
    """``_set_text_fields`` from ``LinearScorer.score_columns``, aspects from the tagger's hits."""
    sentiment, probs = columns["sentiment"]
    zero = np.zeros(len(chunk))
    scores = (probs.get("pos", zero) - probs.get("neg", zero)).tolist()
    rows = zip(chunk, sentiment, scores, columns["emotion"][0], columns["intent"][0], columns["offensive"][0], hits)
    for e, label, score, emotion, intent, offensive, found in rows:
        e["sentiment"] = SENTIMENT_NAMES.get(label, label)
        e["sentiment_score"] = round(score, 4)
        e["emotion"] = emotion
        e["intent"] = intent
        e["is_offensive"] = None if offensive == UNKNOWN else offensive == "offensive"
        e["aspects"] = _aspects(found) if found else []
        e["nlp_version"] = version


def _aspects(hits) -> list[str]:
    """'category:polarity' strings of a post, each once, in text order."""
    return list(dict.fromkeys(f"{h.category}:{h.polarity}" for h in hits))


def score_texts(
    events: list[dict], scorer: Scorer, version: str, tagger: AspectTagger | None = None, prepared: dict | None = None
) -> list[tuple[dict, str]]:
    """Sets the text fields on events (one ``score`` call and one ``tag`` call for the chunk);
    returns (event, error) for those the scorer or the tagger failed on. A chunk that fails is
    retried event by event, so one bad text costs one event. Aspects come from the tagger
    (the catalog's vocabularies) unless the scorer returns its own ``aspects``."""
    with_text = [e for e in events if e["text"] and e["lang"] != UNKNOWN]
    for e in events:
        if not (e["text"] and e["lang"] != UNKNOWN):
            _no_text_fields(e, version)
    if not with_text:
        return []

    by_columns = getattr(scorer, "score_columns", None)  # the shipped scorer's fast path: no dict per text

    def apply(chunk: list[dict]) -> None:
        texts, langs = [e["text"] for e in chunk], [e["lang"] for e in chunk]
        results = None if by_columns else scorer.score(texts, langs)
        if results is not None and len(results) != len(chunk):
            raise EnrichmentError(f"the scorer returned {len(results)} results for {len(chunk)} texts")
        if tagger is None:
            hits = [()] * len(chunk)
        else:  # the fold and words already made serve the mention spans and rule out posts without terms
            hits = tagger.tag(texts, langs, prepared=[prepared[id(e)] for e in chunk] if prepared else None)
        if results is None:
            _set_column_fields(chunk, by_columns(texts, langs), version, hits)
            return
        for e, fields, found in zip(chunk, results, hits):
            _set_text_fields(e, fields, version)
            if "aspects" not in fields:
                e["aspects"] = _aspects(found)

    try:
        apply(with_text)
        return []
    except Exception:  # noqa: BLE001 - a plug-in scorer may raise anything; narrowed to the event below
        failed = []
        for e in with_text:
            try:
                apply([e])
            except Exception as exc:  # noqa: BLE001
                failed.append((e, f"text enrichment ({version}) failed: {type(exc).__name__}: {exc}"))
        return failed


def _dead_letter(e: dict, message: str) -> DeadLetter:
    return DeadLetter(
        DeadLetterReason.ENRICHMENT_FAILED.value,
        message,
        STEP,
        e["kafka_topic"],
        e["kafka_partition"],
        e["kafka_offset"],
        e["event_id"].encode(),
        e["kafka_value"],
    )


def enrich(
    events: list[dict], attributor: BrandAttributor, scorer: Scorer | None = None, version: str = "", tagger: AspectTagger | None = None
) -> tuple[list[dict], list[DeadLetter]]:
    """Enriches events in place; returns (enriched events, dead letters for those it could not).

    Without a scorer only language and brands are set (the text fields are left out); without
    a tagger, aspects are those the scorer returns (none for the shipped scorer)."""
    ok, dead = [], []
    prepared: dict[int, tuple[str, list[str]]] = {}
    for e in events:
        try:
            _, folded, tokens = _enrich_event(e, attributor)
        except EnrichmentError as err:
            dead.append(_dead_letter(e, str(err)))
            continue
        ok.append(e)
        prepared[id(e)] = (folded, tokens)
    set_sketches(ok)  # pure, per text: the same values on every path, whatever the chunking
    if scorer is not None:
        failed = score_texts(ok, scorer, version or scorer_version(scorer), tagger, prepared)
        if failed:
            bad = {id(e) for e, _ in failed}
            dead.extend(_dead_letter(e, message) for e, message in failed)
            ok = [e for e in ok if id(e) not in bad]
    return ok, dead


class EnrichEventsFn(beam.DoFn):
    """``scorer_spec``: as ``pipelines.nlp.scorer.load_scorer`` takes it (None: the shipped models).
    The scorer is loaded once per worker, in ``setup``; a chunk is scored with one call."""

    def __init__(self, catalog: Catalog, scorer_spec: str | None = None):
        self._catalog = catalog
        self._scorer_spec = scorer_spec
        self._attributor: BrandAttributor | None = None
        self._scorer: Scorer | None = None
        self._tagger: AspectTagger | None = None
        self._version = ""

    def setup(self):
        self._attributor = BrandAttributor(self._catalog)
        self._scorer = load_scorer(self._scorer_spec)
        check_scorer(self._scorer)
        self._tagger = default_tagger()
        self._version = scorer_version(self._scorer)

    def process(self, events: list[dict]):
        ok, dead = enrich(events, self._attributor, self._scorer, self._version, self._tagger)
        for d in dead:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, d)
        if ok:
            yield ok


class EnrichEvents(beam.PTransform):
    def __init__(self, catalog: Catalog, scorer_spec: str | None = None):
        super().__init__()
        self._catalog = catalog
        self._scorer_spec = scorer_spec

    def expand(self, events):
        fn = EnrichEventsFn(self._catalog, self._scorer_spec)
        out = events | "DetectLanguageAndBrands" >> beam.ParDo(fn).with_outputs(DEAD_LETTERS, main="events")
        return EnrichResult(out.events, out[DEAD_LETTERS])
