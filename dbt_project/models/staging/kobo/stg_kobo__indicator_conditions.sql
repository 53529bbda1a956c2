select * from {{ source('kobo', 'indicator_conditions') }}
