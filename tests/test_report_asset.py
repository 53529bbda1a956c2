"""The report site's asset never fails a run or touches publication: a report that cannot be built is a
warning (an observation, a line in the `make run` summary) and the previous site stays."""

from pathlib import Path

import dagster as dg

from ingestion.config import PROJECT_ROOT, load_settings
from orchestration.assets.report import REPORT_KEY, report_site
from orchestration.resources import BuildSettingsResource, ReportResource, WarehouseResource
from orchestration.run import report_lines


def test_a_report_that_cannot_be_built_is_a_warning_and_the_previous_site_stays(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the previous report", encoding="utf-8")
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb"),
                                       published_path=str(tmp_path / "no_such_published.duckdb")),
        "build_settings": BuildSettingsResource(min_cell_size=5, row_count_change_warn=0.5),
        "report": ReportResource(out_dir=str(site), partner_contracts=str(PROJECT_ROOT / "contracts" / "partners"),
                                 kobo_contracts=str(PROJECT_ROOT / "contracts" / "kobo")),
    }
    result = dg.materialize([report_site], resources=resources, raise_on_error=False)
    assert result.success  # the run does not fail
    assert not [e for e in result.get_asset_materialization_events()
                if e.event_specific_data.materialization.asset_key == REPORT_KEY]
    observations = [e.event_specific_data.asset_observation for e in result.get_asset_observation_events()]
    assert [o.metadata["status"].value for o in observations if o.asset_key == REPORT_KEY] == ["failed"]
    assert (site / "index.html").read_text(encoding="utf-8") == "the previous report"
    assert not (tmp_path / "site.building").exists()
    monkeypatch.setenv("REPORT_DIR", str(site))
    lines = report_lines(result, load_settings(), current=False)
    assert lines[0].startswith("WARNING: report site not built") and "no published file" in lines[0]


def test_the_report_folder_defaults_to_reports_site_and_follows_report_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("REPORT_DIR", raising=False)
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "r"))
    assert load_settings().report_site_dir == tmp_path / "r" / "site"
    monkeypatch.setenv("REPORT_DIR", "somewhere/site")
    assert load_settings().report_site_dir == PROJECT_ROOT / "somewhere" / "site"
    assert Path(load_settings().report_site_dir).is_absolute()
