"""The Grafana dashboards and provisioning files are loadable and consistent with each other.

Grafana itself is not run here: these checks catch what would otherwise only show in the UI
(a panel bound to a datasource uid that is not provisioned, duplicate panel ids, panels that
overlap, values without units, a variable no panel can resolve, SQL on a table the warehouse
does not have, brand or platform choices that drifted from the catalog and the schema).
Metric names in the panels' queries are checked against the pipeline in
test_prometheus_rules.py; tests/integration/test_prometheus_scrape.py checks that a real
Prometheus has a series for each of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipelines.catalog import load_catalog
from pipelines.model import MENTION_TYPES, UNATTRIBUTED_BRAND

# Sibling helper module: pytest puts this directory (no __init__.py) on sys.path.
from promql_names import iter_panels  # isort: skip

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
WAREHOUSE_DDL = REPO / "schemas" / "warehouse" / "duckdb.sql"
EVENT_SCHEMA = REPO / "schemas" / "social_event" / "v1.avsc"
BRAND_DASHBOARD = GRAFANA / "dashboards" / "ascolto-brand.json"

# Grafana 10/11 dashboards exported today carry schemaVersion 39 or later.
MIN_SCHEMA_VERSION = 39
GRID_COLUMNS = 24
# Pseudo-datasources Grafana provides itself (annotations, mixed and dashboard queries).
BUILTIN_DATASOURCE_UIDS = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}
# Unit ids we use from Grafana's catalogue (packages/grafana-data/src/valueFormats), plus
# Grafana's custom-unit forms. Extend when a panel needs another one.
KNOWN_UNITS = set(
    "none short percent percentunit s ms µs ns m h d dtdurations dtdurationms bytes decbytes "
    "cps ops reqps rps wps cpm opm dateTimeAsIso dateTimeFromNow".split()
)
CUSTOM_UNIT = re.compile(r"^(suffix|prefix|count|si):\S.*$")
# Panels that hold prose, not data: no queries, no unit.
TEXT_PANEL_TYPES = {"text"}
# A dashboard variable in a query: $name, ${name} or ${name:format}, [[name]].
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def _dashboard_params():
    return [pytest.param(path, id=path.name) for path in DASHBOARDS]


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _content_panels(dashboard: dict) -> list[dict]:
    """Panels that show data (rows only group them, text panels hold prose)."""
    return [p for p in iter_panels(dashboard) if p.get("type") != "row" and p.get("type") not in TEXT_PANEL_TYPES]


def _text_panels(dashboard: dict) -> list[dict]:
    return [p for p in iter_panels(dashboard) if p.get("type") in TEXT_PANEL_TYPES]


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, query text) of every PromQL expression and SQL statement of the panels."""
    return [
        (f"{panel.get('title')} {target.get('refId')}", target.get("expr") or target.get("rawSql") or "")
        for panel in _content_panels(dashboard)
        for target in panel.get("targets", [])
    ]


def _variables(dashboard: dict) -> dict[str, dict]:
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def _custom_values(variable: dict) -> dict[str, str]:
    """Text -> value of a custom variable's ``query`` ("a,b" or "text : value,...")."""
    out = {}
    for item in variable["query"].split(","):
        text, sep, value = item.partition(" : ")
        out[text.strip()] = (value if sep else text).strip()
    return out


def _warehouse_relations() -> set[str]:
    return set(re.findall(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", WAREHOUSE_DDL.read_text(), re.I))


@pytest.fixture(scope="module")
def datasources() -> dict[str, dict]:
    """Provisioned datasources by uid."""
    entries = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uids = [ds.get("uid") for ds in entries]
    assert all(uids), f"every provisioned datasource needs a fixed uid: {uids}"
    assert len(uids) == len(set(uids)), f"duplicate datasource uids: {uids}"
    return {ds["uid"]: ds for ds in entries}


# --- provisioning ----------------------------------------------------------------------------


def test_datasources_provision_prometheus_and_the_warehouse(datasources):
    by_type = {ds["type"]: ds for ds in datasources.values()}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    warehouse = by_type["postgres"]
    assert warehouse["url"] == "postgres:5432"
    assert warehouse["user"] == "ascolto"
    assert warehouse["jsonData"]["database"] == "ascolto"
    assert sum(bool(ds.get("isDefault")) for ds in datasources.values()) == 1


def test_prometheus_datasource_interval_matches_the_scrape_interval(datasources):
    # $__rate_interval is computed from timeInterval: it must be the real scrape interval.
    scrape_interval = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["global"]["scrape_interval"]
    (prometheus,) = [ds for ds in datasources.values() if ds["type"] == "prometheus"]
    assert prometheus["jsonData"]["timeInterval"] == scrape_interval


def test_datasource_secrets_come_from_the_environment(datasources):
    for ds in datasources.values():
        assert "password" not in ds, f"{ds['name']}: put the password under secureJsonData"
        for key, value in (ds.get("secureJsonData") or {}).items():
            assert re.fullmatch(r"\$\{?[A-Z][A-Z0-9_]*\}?", str(value)), (
                f"{ds['name']}: secureJsonData.{key} must be an environment variable reference, not a literal"
            )


def test_dashboard_provider_reads_the_mounted_directory():
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert [p["options"]["path"] for p in providers if p["type"] == "file"] == ["/var/lib/grafana/dashboards"]


# --- dashboards -----------------------------------------------------------------------------


def test_there_are_dashboards():
    assert DASHBOARDS, "no dashboard JSON under deploy/grafana/dashboards"
    assert {_load(path)["uid"] for path in DASHBOARDS} >= {"ascolto-operations", "ascolto-brand"}


def test_dashboard_uids_are_unique():
    uids = [_load(path)["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids)), f"duplicate dashboard uids: {uids}"


@pytest.mark.parametrize("path", _dashboard_params())
def test_dashboard_has_uid_title_and_schema_version(path):
    dashboard = _load(path)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard.get("uid") or ""), "uid: 1-40 of [A-Za-z0-9_-]"
    assert (dashboard.get("title") or "").strip(), "no title"
    assert dashboard.get("schemaVersion", 0) >= MIN_SCHEMA_VERSION
    # A provisioned dashboard must not pin a database id of the instance it was exported from.
    assert dashboard.get("id") is None


@pytest.mark.parametrize("path", _dashboard_params())
def test_panel_ids_are_unique(path):
    ids = [panel.get("id") for panel in iter_panels(_load(path))]
    assert None not in ids, "every panel needs an id"
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(i for i in ids if ids.count(i) > 1)}"


@pytest.mark.parametrize("path", _dashboard_params())
def test_every_panel_has_title_description_and_unit(path):
    for panel in iter_panels(_load(path)):
        title = (panel.get("title") or "").strip()
        assert title, f"panel {panel.get('id')} has no title"
        if panel.get("type") == "row":
            continue
        assert (panel.get("description") or "").strip(), f"panel {title!r} has no description"
        if panel.get("type") in TEXT_PANEL_TYPES:
            assert (panel.get("options", {}).get("content") or "").strip(), f"text panel {title!r} is empty"
            continue
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        assert unit, f"panel {title!r} has no unit (fieldConfig.defaults.unit)"
        assert unit in KNOWN_UNITS or CUSTOM_UNIT.match(unit), f"panel {title!r}: unknown unit {unit!r}"


@pytest.mark.parametrize("path", _dashboard_params())
def test_every_datasource_reference_is_provisioned(path, datasources):
    dashboard = _load(path)
    refs = []
    for panel in _content_panels(dashboard):
        assert panel.get("targets"), f"panel {panel.get('title')!r} has no queries"
        refs.append((panel.get("title"), panel.get("datasource")))
        refs += [(f"{panel.get('title')} {t.get('refId')}", t.get("datasource")) for t in panel["targets"]]
    refs += [(a.get("name"), a.get("datasource")) for a in dashboard.get("annotations", {}).get("list", [])]
    for where, ref in refs:
        assert isinstance(ref, dict) and ref.get("uid"), (
            f"{where}: reference the datasource as {{'type': ..., 'uid': ...}}, not by name or default"
        )
        if ref["uid"] in BUILTIN_DATASOURCE_UIDS:
            continue
        assert ref["uid"] in datasources, f"{where}: datasource uid {ref['uid']!r} is not provisioned"
        provisioned = datasources[ref["uid"]]["type"]
        assert ref.get("type") in (None, provisioned), f"{where}: type {ref.get('type')!r}, provisioned {provisioned!r}"


def _grid_box(panel: dict) -> tuple[int, int, int, int]:
    pos = panel.get("gridPos") or {}
    x, y, w, h = (pos.get(k) for k in ("x", "y", "w", "h"))
    title = panel.get("title")
    assert all(isinstance(v, int) for v in (x, y, w, h)), f"panel {title!r}: incomplete gridPos {pos}"
    assert 0 <= x and w > 0 and x + w <= GRID_COLUMNS and h > 0, f"panel {title!r}: outside the grid {pos}"
    return x, y, w, h


@pytest.mark.parametrize("path", _dashboard_params())
def test_panels_fit_the_grid_without_overlapping(path):
    dashboard = _load(path)
    for panel in iter_panels(dashboard):
        _grid_box(panel)
    # Overlap among the panels laid out on the page; those inside a collapsed row only
    # take their place when it is expanded.
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        x, y, w, h = _grid_box(panel)
        for cell in ((cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)):
            assert cell not in taken, f"panel {panel.get('title')!r} overlaps {taken[cell]!r}"
            taken[cell] = panel.get("title")


@pytest.mark.parametrize("path", _dashboard_params())
def test_text_panels_hold_prose_only(path):
    # Panels announced for later issues are text: no query to a metric that does not exist yet.
    for panel in _text_panels(_load(path)):
        assert not panel.get("targets") and not panel.get("datasource"), f"text panel {panel.get('title')!r} has queries"


@pytest.mark.parametrize("path", _dashboard_params())
def test_every_variable_a_query_uses_is_defined(path):
    dashboard = _load(path)
    defined = set(_variables(dashboard))
    for where, text in _queries(dashboard):
        used = {next(g for g in m.groups() if g) for m in VARIABLE.finditer(text)}
        unknown = sorted(name for name in used if not name.startswith("__") and name not in defined)
        assert not unknown, f"{where} uses undefined dashboard variables {unknown}"


@pytest.mark.parametrize("path", _dashboard_params())
def test_warehouse_queries_read_the_warehouse_schema_over_the_time_range(path):
    relations = _warehouse_relations()
    assert "engagement_window" in relations
    for panel in _content_panels(_load(path)):
        for target in panel["targets"]:
            if target.get("datasource", {}).get("type") != "postgres":
                continue
            where, sql = f"{panel.get('title')} {target.get('refId')}", target.get("rawSql") or ""
            assert target.get("rawQuery") and sql.strip(), f"{where}: a warehouse panel needs its SQL in rawSql"
            read = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql, re.I))
            assert read and read <= relations, f"{where} reads {sorted(read - relations)}, not in {WAREHOUSE_DDL.name}"
            assert "$__timeFilter(" in sql, f"{where}: filter on the dashboard's time range with $__timeFilter(...)"
            if "engagement_window" in read:  # one row per window size: two sizes summed would count every event twice
                assert re.search(r"\bwindow_seconds\s*=", sql), f"{where}: read one window size (window_seconds = ...)"
            for listed in re.findall(r"event_type\s+IN\s*\(([^)]*)\)", sql, re.I):
                types = set(re.findall(r"'(\w+)'", listed))
                assert types == MENTION_TYPES, f"{where}: mention types {sorted(types)} differ from pipelines.model.MENTION_TYPES"


def test_brand_dashboard_choices_follow_the_catalog_and_the_schema():
    variables = _variables(_load(BRAND_DASHBOARD))
    catalog = load_catalog()
    sectors: dict[str, set[str]] = {}
    for brand in catalog.brands:
        sectors.setdefault(brand.sector, set()).add(brand.id)
    # Share of voice compares the brands of one sector: each choice is that sector's brands.
    assert {sector: set(brands.split("|")) for sector, brands in _custom_values(variables["sector"]).items()} == sectors
    assert set(_custom_values(variables["brand"]).values()) == {*catalog.brand_ids, UNATTRIBUTED_BRAND}
    (platform,) = [f["type"]["symbols"] for f in json.loads(EVENT_SCHEMA.read_text())["fields"] if f["name"] == "platform"]
    assert list(_custom_values(variables["platform"]).values()) == platform
    for name in ("brand", "platform"):
        # Multi-value with "All" expanding to the listed values: a custom allValue such as .*
        # would break the SQL panels' `IN ($var)`.
        assert variables[name]["multi"] and variables[name]["includeAll"] and not variables[name].get("allValue")
