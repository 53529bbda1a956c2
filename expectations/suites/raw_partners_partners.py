"""One row per partner: name, type, licence and attribution its published rows carry, from its contract."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion import canonical
from ingestion.config import BuildSettings

TABLE = "raw_partners.partners"
ASSET_KEY = ("raw_partners", "partners")
CHUNK_KEY = ["partner_id"]
SAMPLE_COLUMNS = ["partner_id", "source_type", "contract_file", "run_id"]
LINEAGE = ["contract_file", "contract_sha256", "run_id", "updated_at"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        # a partner listed twice would double each of its observations in the marts
        c.unique(["partner_id"]),
        # published with every partner row: its attribution is the rows' data_source
        *c.not_null(["partner_id", "partner_name", "source_type", "licence", "attribution"]),
        *c.not_null(LINEAGE),
        # reported here: dbt's accepted_values test on the source type is what blocks
        c.in_set("source_type", list(canonical.load().landed_source_types), c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="contract_sha256", regex=r"^[0-9a-f]{64}$", severity=c.WARNING),
    ]
