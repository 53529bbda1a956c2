-- Every area the API lists.
select
    geo_area_m49,
    geo_area_name
from {{ source('sdg', 'geo_areas') }}
