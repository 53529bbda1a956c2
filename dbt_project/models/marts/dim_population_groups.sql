-- Population groups official data rarely covers, and how much data the warehouse holds on each.
-- A group is found through population_group, or through the dimension its seed row names
-- (IDP through migratory_status, older persons through age groups from 60 up).
with groups as (
    select *, string_split(coalesce(via_codes, ''), ' ') as via_code_list
    from {{ ref('population_groups') }}
),

observations as (
    select
        observation_id,
        source_type,
        population_group,
        -- every dimension but population_group itself, by name (the seed's via_dimension)
        map { {%- for d in var('dimensions') if d != 'population_group' %}'{{ d }}': {{ d }}{{ ', ' if not loop.last }}{% endfor -%} } as dimensions
    from {{ ref('int_observations_unioned') }}
)

select
    groups.code as population_group,
    groups.label,
    groups.description,
    groups.official_coverage,
    count(observations.observation_id) filter (where not {{ not_official('observations.source_type') }}) as official_observations,
    count(observations.observation_id) filter (where {{ not_official('observations.source_type') }}) as non_official_observations
from groups
left join observations
    on observations.population_group = groups.code
    or (groups.via_dimension is not null
        and list_contains(groups.via_code_list, observations.dimensions[groups.via_dimension]))
group by all
