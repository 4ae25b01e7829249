"""Sync services: what each background job does for one seller connection.

- `schedule`: due times, leases, backoff, and the scheduler's claims;
- `sales_traffic`: the Sales & Traffic report plan and its state machine;
- `catalog`: listings (with catalog images and bullets) and inventory;
- `orders`: searchOrders, incrementally by lastUpdatedAfter.

Tasks (amazon/tasks.py) load rows by id and call these; they never retry in
place: a failed job gets a later due time and the scheduler brings it back.
"""
