-- For each indicator x geo area x group: which kinds of source have data, and their latest
-- periods. `national_fills_gap` marks groups the UN database says nothing about but the national
-- statistics office does; `civil_society_fills_gap` groups no official source covers (neither the
-- UN nor the national office) but civil society or citizens do.
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
    {%- for type in var('source_types') %}
    count(*) filter (where source_type = '{{ type }}') > 0 as has_{{ type }},
    {%- endfor %}
    {%- for type in var('source_types') %}
    max(period_start) filter (where source_type = '{{ type }}') as latest_{{ type }}_period,
    {%- endfor %}
    count(*) filter (where source_type = 'official') = 0
        and count(*) filter (where source_type = 'national_official') > 0 as national_fills_gap,
    count(*) filter (where not {{ not_official('source_type') }}) = 0
        and count(*) filter (where {{ not_official('source_type') }}) > 0 as civil_society_fills_gap,
    count(*) as observations
from observations
group by indicator_key, geo_area_m49{% for d in dims %}, {{ d }}{% endfor %}
