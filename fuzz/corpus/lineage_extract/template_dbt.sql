{{ config(materialized='incremental', unique_key='id') }}
with src as (
    select * from {{ source('shop', 'orders') }}
    {% if is_incremental() %}
    where updated_at > (select max(updated_at) from {{ this }})
    {% endif %}
)
select src.*, c.segment
from src
join {{ ref('dim_customers') }} c using (customer_id)
where src.day >= '{{ var("start_date") }}'
