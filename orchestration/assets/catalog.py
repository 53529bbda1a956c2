"""Owners and tags of every asset: who answers for it, which layer it is, whether it holds respondents' answers.

The respondent-level tables are told apart by schema, the convention the dbt project already keeps: KoBo
submissions land in ``raw_kobo_restricted`` and only dbt models in schema ``restricted`` read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

OWNERS = ["team:data-engineering"]
PRIVACY_TAG = "privacy"
RESPONDENT_LEVEL = "respondent_level"  # one row per respondent: restricted, never published
AGGREGATE = "aggregate"
RESPONDENT_LEVEL_SCHEMAS = frozenset({"raw_kobo_restricted", "restricted"})


def privacy(key: dg.AssetKey) -> str:
    return RESPONDENT_LEVEL if len(key.path) > 1 and key.path[0] in RESPONDENT_LEVEL_SCHEMAS else AGGREGATE


def asset_tags(key: dg.AssetKey, layer: str, source: str | None = None) -> dict[str, str]:
    tags = {"layer": layer, PRIVACY_TAG: privacy(key)}
    if source:
        tags["source"] = source
    return tags


def landing_spec(key: dg.AssetKey | Sequence[str], source: str, **kwargs: Any) -> dg.AssetSpec:
    """The spec of a landing table (``raw_*``), with its owners and tags."""
    key = dg.AssetKey.from_coercible(key)
    return dg.AssetSpec(key, owners=OWNERS, tags=asset_tags(key, "landing", source), kinds={"duckdb"}, **kwargs)


def dbt_tags(dbt_resource_props: Mapping[str, Any], dbt_tags: Mapping[str, str]) -> dict[str, str]:
    """A dbt node's tags: dbt's own, its layer (schema: staging, restricted, intermediate, marts, reference)."""
    schema = dbt_resource_props["schema"]
    return {**dbt_tags, **asset_tags(dg.AssetKey([schema, dbt_resource_props["name"]]), schema, "dbt")}
