{#- Fails on every non-null value outside [min_value, max_value] (bounds optional; inclusive by default). -#}
{% test value_between(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select {{ column_name }} as failing_value
from {{ model }}
where {{ column_name }} is not null
  and (
    {%- if min_value is not none %} {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}{% else %} false{% endif %}
    or
    {%- if max_value is not none %} {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}{% else %} false{% endif %}
    or {{ column_name }} = 'NaN'::double precision
  )
{% endtest %}
