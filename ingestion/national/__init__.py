"""National official data from Open SDG platforms (one tidy CSV per indicator, published by national
statistics offices), landed beside the partners' as source ``national_<iso3>`` of type ``national_official``.

Stages, each calling only the ones below it: ``vocabulary`` (what all platforms share: column names, labels,
age ranges, the indicator in a file name), ``platform`` (the contract: ``contracts/national/<iso3>.yml``),
``fetch`` (the files: a folder, a repository clone or a site over HTTP), ``spec`` (the partner contract the
files are read with, made from each file's name and header), ``ingest`` (the partner pipeline does the rest:
reading, evaluation, landing, the report).
"""

from ingestion.national.ingest import ingest_platform, is_platform, list_platforms, platform_contract_path, platform_id
from ingestion.national.platform import load_platform, platform_contracts

__all__ = ["ingest_platform", "is_platform", "list_platforms", "load_platform", "platform_contract_path",
           "platform_contracts", "platform_id"]
