-- Every geographic area: ISO 3166 countries (M49 = ISO numeric) and the SDG database's regions,
-- with the regions each belongs to (GeoArea/Tree).
with recursive tree as (
    select distinct geo_area_m49, parent_m49, geo_area_name, geo_area_type
    from {{ ref('stg_sdg__geo_area_tree') }}
),

ancestors as (
    select geo_area_m49, parent_m49 as ancestor_m49, 1 as distance
    from tree
    where parent_m49 is not null
    union all
    select ancestors.geo_area_m49, tree.parent_m49, ancestors.distance + 1
    from ancestors
    join tree on tree.geo_area_m49 = ancestors.ancestor_m49
    where tree.parent_m49 is not null and ancestors.distance < 20
),

memberships as (
    select
        ancestors.geo_area_m49,
        list(ancestors.ancestor_m49 order by ancestors.distance) as region_m49_codes,
        list(tree.geo_area_name order by ancestors.distance) as region_names
    from ancestors
    left join (select distinct geo_area_m49, geo_area_name from tree) as tree
        on tree.geo_area_m49 = ancestors.ancestor_m49
    group by ancestors.geo_area_m49
),

areas as (
    select m49_code as geo_area_m49, country_name as geo_area_name, iso3, iso2, 'Country' as area_type
    from {{ ref('iso3166_countries') }}
    union all
    select geo_area_m49, any_value(geo_area_name), null, null, coalesce(any_value(geo_area_type), 'Area')
    from (
        select geo_area_m49, geo_area_name, null as geo_area_type from {{ ref('stg_sdg__geo_areas') }}
        union all
        select geo_area_m49, geo_area_name, geo_area_type from tree
    )
    where geo_area_m49 not in (select m49_code from {{ ref('iso3166_countries') }})
    group by geo_area_m49
)

select
    areas.*,
    coalesce(memberships.region_m49_codes, []) as region_m49_codes,
    coalesce(memberships.region_names, []) as region_names
from areas
left join memberships using (geo_area_m49)
