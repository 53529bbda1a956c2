-- Goal > target > indicator > series memberships, one row per series release.
-- Some descriptions arrive mis-encoded (UTF-8 no-break space read as Latin-1: 'Â' + U+00A0).
select
    goal_code,
    target_code,
    indicator_code,
    tier,
    series_code,
    release,
    replace(goal_title, 'Â' || chr(160), ' ') as goal_title,
    replace(target_description, 'Â' || chr(160), ' ') as target_description,
    replace(indicator_description, 'Â' || chr(160), ' ') as indicator_description,
    replace(series_description, 'Â' || chr(160), ' ') as series_description
from {{ source('sdg', 'series_hierarchy') }}
