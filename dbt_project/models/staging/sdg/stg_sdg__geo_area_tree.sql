-- Regions and their members as the API nests them (GeoArea/Tree).
select
    root_m49,
    parent_m49,
    geo_area_m49,
    geo_area_name,
    geo_area_type,
    depth
from {{ source('sdg', 'geo_area_tree') }}
