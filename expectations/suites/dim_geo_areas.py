"""Second line at publication: only the declared columns (its rules on values are dbt tests)."""

from expectations.suites import _common as c

TABLE = "marts.dim_geo_areas"


def expectations(settings) -> list:
    return [c.only_declared_columns(TABLE)]
