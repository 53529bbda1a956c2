select survey_id, title, organisation, geo_area_m49, reference_year, synthetic
from {{ source('kobo', 'surveys') }}
