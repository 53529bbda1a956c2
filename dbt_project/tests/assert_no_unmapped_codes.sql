-- Reports codes no vocabulary maps (they flow through as 'unmapped', never dropped). A warning
-- here; the Great Expectations gate decides whether they block publication.
{{ config(severity='warn') }}
select source_type, source_id, series_code, unmapped_codes, count(*) as observations
from {{ ref('fct_indicator_observations') }}
where unmapped_codes is not null
group by all
