-- One row per source x series x geo area x period x disaggregation, in canonical codes, with
-- small civil-society and citizen-generated cells suppressed (see int_observations_suppressed).
select
    observations.* exclude (geo_area_name, below_min_cell_size, is_secondary_suppression),
    countries.iso3,
    coalesce(countries.country_name, geo_areas.geo_area_name, observations.geo_area_name) as geo_area_name
from {{ ref('int_observations_suppressed') }} as observations
left join {{ ref('iso3166_countries') }} as countries
    on countries.m49_code = observations.geo_area_m49
left join (
    select geo_area_m49, any_value(geo_area_name) as geo_area_name
    from {{ ref('stg_sdg__geo_areas') }}
    group by geo_area_m49
) as geo_areas
    on geo_areas.geo_area_m49 = observations.geo_area_m49
