{#- What int_observations_suppressed and its proof (tests/assert_no_recoverable_suppressed_cell.sql)
    share: the dimensions a suppressed cell could be recovered along, and the cells they partition. -#}

{% macro suppression_set_key() %}
    {{ return(['source_type', 'source_id', 'series_code', 'geo_area_m49', 'period_label', 'unit', 'reporting_type']) }}
{% endmacro %}

{% macro canonical_dimensions() %}
    {{ return(['sex', 'age_group', 'disability_status', 'location', 'income_quantile', 'migratory_status', 'population_group']) }}
{% endmacro %}

{#- The names of the partner breakdowns without a canonical column (keys of the map column
    `map_column`) found in civil-society and citizen-generated rows of `relation`; none at parse time or before it exists. -#}
{% macro partner_breakdown_keys(relation, map_column) %}
    {#- none before the relation exists (`dbt compile` or `docs generate` on a fresh warehouse) -#}
    {% if not execute or load_relation(relation) is none %}{{ return([]) }}{% endif %}
    {% set found = run_query("select distinct unnest(map_keys(" ~ map_column ~ ")) from " ~ relation
                             ~ " where source_type <> 'official' order by 1") %}
    {{ return(found.columns[0].values() | list) }}
{% endmacro %}

{#- breakdown_1, breakdown_2, ...: one dimension column per key. -#}
{% macro partner_breakdown_names(keys) %}
    {% set names = [] %}
    {% for key in keys %}{% do names.append('breakdown_' ~ loop.index) %}{% endfor %}
    {{ return(names) }}
{% endmacro %}

{#- The breakdown columns (each followed by a comma): the cell's value for that key, or its total
    '_T' where the cell has no such breakdown or says _T. -#}
{% macro partner_breakdown_columns(keys, map_column) %}
    {%- for key in keys %}
    {%- set entry = map_column ~ "['" ~ (key | replace("'", "''")) ~ "']" %}
    case when coalesce({{ entry }}, '_T') = '_T' then '_T' else {{ entry }} end as breakdown_{{ loop.index }},
    {%- endfor %}
{% endmacro %}

{#- MIN_CELL_SIZE read as ingestion/config.py reads it: unset or empty means 5; anything but a whole
    number of at least 1 stops the build (a bad value must never weaken suppression silently). -#}
{% macro min_cell_size() %}
    {% set raw = env_var('MIN_CELL_SIZE', '') | trim %}
    {% if raw == '' %}{{ return(5) }}{% endif %}
    {% if not raw.isdigit() or raw | int < 1 %}
        {{ exceptions.raise_compiler_error("MIN_CELL_SIZE must be a whole number of at least 1; got '" ~ raw ~ "'") }}
    {% endif %}
    {{ return(raw | int) }}
{% endmacro %}
