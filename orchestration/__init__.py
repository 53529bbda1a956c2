"""Dagster code location: thin assets, checks, jobs and schedules wiring the ``ingestion`` library and dbt."""
