{#- The run the marts show: var('run_id') when given, else the latest successful load. -#}
{% macro selected_run_id() -%}
  {%- if var('run_id', none) -%}
    '{{ var('run_id') | replace("'", "''") }}'::text
  {%- else -%}
    (select run_id from {{ source('raw', 'load_log') }} where status = 'succeeded'
     order by finished_at desc, load_id desc limit 1)
  {%- endif -%}
{%- endmacro %}
