-- API code -> SDMX code, per series and concept, as the API itself publishes them.
select
    series_code,
    kind,
    concept,
    code as api_code,
    description as code_description,
    sdmx_code
from {{ source('sdg', 'series_code_lists') }}
