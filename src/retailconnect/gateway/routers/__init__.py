"""The ``/v1`` routers: channels (vendor webhooks in), experience (storefront, POS), process (orders,
availability, returns, prices, customers), system (read views per backend), ops (exceptions, flows, DLQ)."""
