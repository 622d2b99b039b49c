{#- dbt's `where` test config, with one placeholder: `__selected_run_id__` becomes selected_run_id()
    (var run_id, else the latest successful load). dbt_project.yml sets
    `where: "run_id = __selected_run_id__"` on the staging and intermediate tests, so they check the run
    being published rather than every run ever loaded (config values cannot call project macros, hence
    the placeholder; this override is the documented way to template `where`). -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where -%}
    {%- if '__selected_run_id__' in where -%}
      {%- set where = where | replace('__selected_run_id__', selected_run_id()) -%}
    {%- endif -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}
