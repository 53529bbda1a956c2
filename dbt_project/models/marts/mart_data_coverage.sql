-- For each indicator x geo area x group: which kinds of source have data, and their latest
-- periods. `civil_society_fills_gap` marks groups official data says nothing about but civil
-- society or citizens do.
{% set dims = var('dimensions') %}
with observations as (
    select *, coalesce(indicator_code, series_code) as indicator_key
    from {{ ref('fct_indicator_observations') }}
)

select
    indicator_key,
    any_value(indicator_code) as indicator_code,
    list_sort(list(distinct series_code)) as series_codes,
    geo_area_m49,
    any_value(iso3) as iso3,
    any_value(geo_area_name) as geo_area_name,
    {% for d in dims %}{{ d }},{{ ' ' if not loop.last }}{% endfor %}
    count(*) filter (where source_type = 'official') > 0 as has_official,
    count(*) filter (where source_type = 'civil_society') > 0 as has_civil_society,
    count(*) filter (where source_type = 'citizen_generated') > 0 as has_citizen_generated,
    max(period_start) filter (where source_type = 'official') as latest_official_period,
    max(period_start) filter (where source_type = 'civil_society') as latest_civil_society_period,
    max(period_start) filter (where source_type = 'citizen_generated') as latest_citizen_generated_period,
    count(*) filter (where source_type = 'official') = 0
        and count(*) filter (where source_type <> 'official') > 0 as civil_society_fills_gap,
    count(*) as observations
from observations
group by indicator_key, geo_area_m49{% for d in dims %}, {{ d }}{% endfor %}
