select * from {{ source('kobo', 'age_bands') }}
