{#- Fails with each row whose `column_name` lies outside [min_value, max_value] (either bound optional; nulls pass). -#}
{% test between(model, column_name, min_value=none, max_value=none) %}
select *
from {{ model }}
where {{ column_name }} is not null
    and ({% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}false{% endif %}
         or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}false{% endif %})
{% endtest %}
