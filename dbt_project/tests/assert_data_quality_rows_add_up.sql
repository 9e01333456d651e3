-- The data_quality invariant (docs/metrics.md#data-quality): every received row is either loaded or quarantined.
select
    source,
    load_id,
    rows_received,
    rows_loaded,
    rows_quarantined
from {{ ref('data_quality') }}
where
    rows_received is null
    or rows_loaded is null
    or rows_quarantined is null
    or rows_received != rows_loaded + rows_quarantined
