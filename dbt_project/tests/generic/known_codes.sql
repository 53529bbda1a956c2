{#- Fails with each (column, code) of the closed code lists (var closed_code_lists, plus `extra`) that the vocabulary
    seeds do not list; age groups are checked against seed age_groups. -#}
{% test known_codes(model, extra=[]) %}
{%- set columns = var('closed_code_lists') + extra %}
{% for c in columns %}
select '{{ c }}' as dimension, {{ c }} as code, count(*) as rows
from {{ model }}
where {{ c }} is not null and {{ c }} not in (
    {%- if c == 'age_group' %}select code from {{ ref('age_groups') }}
    {%- else %}select code from {{ ref('vocabulary') }} where dimension = '{{ c }}'{% endif -%}
)
group by all
{{ 'union all' if not loop.last }}
{% endfor %}
{% endtest %}
