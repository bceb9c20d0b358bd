"""``ascolto query`` and ``ascolto report`` through the real CLI entry point, on both warehouses."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from pipelines.cli import main

pytestmark = pytest.mark.integration


def test_query_prints_a_table_csv_and_json_with_the_same_rows(produced, capsys):
    sql = "SELECT brand, mentions, net_sentiment_share FROM v_net_sentiment_by_brand ORDER BY brand"
    assert main(["query", sql, "--warehouse", produced.location, "--json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert main(["query", sql, "--warehouse", produced.location, "--csv"]) == 0
    as_csv = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert main(["query", sql, "--warehouse", produced.location]) == 0
    table = capsys.readouterr().out
    assert (
        [r["brand"] for r in as_json] == [r["brand"] for r in as_csv] == ["dolceforno", "hostiamo", "mulinosole", "nuvola", "serverrapido"]
    )
    assert [int(r["mentions"]) for r in as_csv] == [r["mentions"] for r in as_json]
    assert all(-1 <= r["net_sentiment_share"] <= 1 for r in as_json)
    assert "nuvola" in table and "5 rows" in table


def test_query_timestamps_and_arrays_come_out_as_json_values(produced, capsys):
    sql = "SELECT event_time, brands, sentiment_score FROM fact_events WHERE cardinality(brands) > 0 ORDER BY event_id LIMIT 5"
    assert main(["query", sql, "--warehouse", produced.location, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5
    for r in rows:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r["event_time"]) and isinstance(r["brands"], list)
        assert isinstance(r["sentiment_score"], float)


@pytest.mark.parametrize("sql", ["SELEC 1", "SELECT * FROM no_such_view", "DELETE FROM fact_events"])
def test_a_bad_or_writing_query_is_one_error_line_and_changes_nothing(produced, capsys, sql):
    assert main(["query", sql, "--warehouse", produced.location]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and out.err.startswith("ascolto: error: query failed: ")
    main(["query", "SELECT count(*) AS n FROM fact_events", "--warehouse", produced.location, "--json"])
    assert json.loads(capsys.readouterr().out)[0]["n"] > 3000


def test_query_on_a_missing_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["query", "SELECT 1", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "no warehouse at" in capsys.readouterr().err


def test_report_is_one_self_contained_html_file_with_the_four_charts(produced, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", "--warehouse", produced.location, "--out", str(out), "--update-crises"]) == 0
    html = out.read_text()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for heading in ("Share of voice over time", "Net sentiment per brand", "Customer care", "Crisis timeline"):
        assert f"<h2>{heading}" in html
    assert html.count("<svg") >= 6 and "Nuvola Hosting" in html
    crisis = html[html.index("<h2>Crisis timeline") :]
    assert "<rect" in crisis and "crisis from" in crisis and "No crisis episodes" not in crisis  # the shaded episode
    assert "wrote " in capsys.readouterr().out


def test_report_into_a_missing_directory_is_one_error_line(produced, tmp_path, capsys):
    assert main(["report", "--warehouse", produced.location, "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_query_while_a_writer_holds_the_duckdb_file_says_so_in_one_line(tmp_path, capsys):
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["query", "SELECT 1", "--warehouse", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "ascolto run' holds it" in err
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
