{#- Fails on rows where column_name > other_column (+ tolerance); nulls are not compared. -#}
{% test at_most_column(model, column_name, other_column, tolerance=0) %}
select {{ column_name }} as value, {{ other_column }} as bound
from {{ model }}
where {{ column_name }} is not null and {{ other_column }} is not null
  and {{ column_name }} > {{ other_column }} + {{ tolerance }}
{% endtest %}
