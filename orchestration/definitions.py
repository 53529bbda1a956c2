"""The Dagster code location (``orchestration.definitions:defs``).

Loading it reads the settings from the environment once (``ingestion.config``) and the dbt manifest from
disk; it opens no DuckDB file and makes no network call. Assets and checks get every setting from the
resources built here; the secrets are ``dg.EnvVar``s, read from the run's environment when it starts.
"""

from __future__ import annotations

import dagster as dg

from ingestion.config import PROJECT_ROOT, Settings, load_settings
from ingestion.sdg_api.series import configured_series
from orchestration.assets.dbt import dbt_models, dbt_resource
from orchestration.assets.kobo import raw_kobo_api
from orchestration.assets.partners import raw_partner_files
from orchestration.assets.publication import published_marts
from orchestration.assets.report import report_site
from orchestration.assets.sdg_api import build_series_assets, raw_sdg_reference
from orchestration.alerts import quality_gate_alert_sensor
from orchestration.checks import SUITE_CHECKS, GreatExpectationsResource
from orchestration.jobs import (
    build_nightly_schedule,
    main_after_nightly_runs,
    main_after_partner_update,
    main_job,
    nightly_partners_schedule,
    partner_inbox_sensor,
    partner_job,
    sdg_series_job,
)
from orchestration.resources import (BuildSettingsResource, KoboApiResource, PartnerInboxResource, ReportResource,
                                     SdgApiResource, WarehouseResource, secret)


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    python_assets = dg.with_source_code_references([
        build_series_assets(configured_series(settings), settings.sdg_areas),
        raw_sdg_reference,
        raw_partner_files,
        raw_kobo_api,
        published_marts,
        report_site,
    ])
    # dbt models carry references to their .sql files (the translator's enable_code_references).
    assets = [*python_assets, dbt_models]
    if not settings.code_references_git_url:
        return assets  # local files: the UI opens them in an editor
    return dg.link_code_references_to_git(
        assets, git_url=settings.code_references_git_url, git_branch=settings.code_references_git_branch,
        file_path_mapping=dg.AnchorBasedFilePathMapping(local_file_anchor=PROJECT_ROOT / "workspace.yaml",
                                                        file_anchor_path_in_repository="workspace.yaml"))


ASSET_CHECKS = SUITE_CHECKS


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource, from settings parsed once; the secrets by the name of their variable."""
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path), published_path=str(settings.published_path),
                                       memory_limit=settings.duckdb_memory_limit),
        "sdg_api": SdgApiResource(mode=settings.sdg_api_mode, base_url=settings.sdg_api_base_url,
                                  replay_dir=str(settings.sdg_replay_dir)),
        "partner_inbox": PartnerInboxResource(
            inbox=str(settings.partner_inbox), contracts=str(settings.partner_contracts),
            national_contracts=str(settings.national_contracts),
            national_cache=str(settings.warehouse_path.parent / "national"),
            reports=str(settings.reports_dir / "partners"), pii_salt=secret("PII_SALT", settings.pii_salt),
        ),
        "kobo_api": KoboApiResource(
            server_url=settings.kobo_server_url, token=secret("KOBO_TOKEN", settings.kobo_token),
            asset_uids=list(settings.kobo_asset_uids), contracts=str(settings.kobo_contracts),
            pii_salt=secret("PII_SALT", settings.pii_salt),
        ),
        "build_settings": BuildSettingsResource(min_cell_size=settings.min_cell_size,
                                                row_count_change_warn=settings.row_count_change_warn),
        "report": ReportResource(out_dir=str(settings.report_site_dir), partner_contracts=str(settings.partner_contracts),
                                 kobo_contracts=str(settings.kobo_contracts),
                                 national_contracts=str(settings.national_contracts)),
        "dbt": dbt_resource(),
        "great_expectations": GreatExpectationsResource(data_docs_dir=str(settings.reports_dir / "data_docs")),
    }


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=build_assets(settings),
        asset_checks=ASSET_CHECKS,
        jobs=[sdg_series_job, partner_job, main_job],
        schedules=[build_nightly_schedule(settings.sdg_series_per_run), nightly_partners_schedule],
        sensors=[main_after_nightly_runs, partner_inbox_sensor, main_after_partner_update, quality_gate_alert_sensor],
        resources=build_resources(settings),
        # One process per run: DuckDB takes one writer, and the pool serializes writers across runs.
        executor=dg.in_process_executor,
    )


defs = build_defs(load_settings())
