"""NetSuite simulator: REST record API v1, SuiteQL, governance, TBA verification, fault injection.

``retailconnect sim netsuite --port P [--set concurrency_limit=5] [--set items='[{"sku":"A","price":"9.99"}]']``

Settings: ``account_id`` (1234567), ``consumer_key`` / ``consumer_secret`` / ``token_id`` / ``token_secret``
(``sim-consumer-key`` ...), ``verify_signatures`` (true), ``concurrency_limit`` (5; more requests in flight
answer NetSuite's 429 body, nothing is queued), ``rate_limit_rps`` (optional request rate: a bucket of
``rate_limit_burst`` requests, default the rate, refilled at the rate per second; empty -> 429),
``governance_readable`` (true; false answers 403 like a non-admin role), ``items`` (list of
``{"sku", "price", "title", "inactive"}`` or ``{sku: price}``), ``customers`` (``{"email", "firstName",
"lastName", "creditHold", "externalId"}``).

Admin: ``POST /_sim/faults`` (kit FaultPlan + extras ``reject_skus`` (list or {sku: message}),
``credit_hold_emails``, ``closed_period``, ``hang_after_commit`` {"method", "path_contains", "count",
"seconds"}), ``GET /_sim/requests`` (count, max_in_flight, max_in_flight_governed, rejected_concurrency,
rejected_rate, rejected_auth, max_rps, by_status; ``?items=1`` for the log), ``GET /_sim/state/sales_orders``
(externalId, id, lines, created_count, updated_count, status), ``GET /_sim/state/{record type}``
(``?fields=id,externalId,...`` for just those: cheap enough to poll),
``POST /_sim/items``, ``POST /_sim/customers``, ``POST /_sim/settings``, ``POST /_sim/reset``.
"""

from .app import NetSuiteSimulator as NetSuiteSimulator
from .app import create_app as create_app

__all__ = ["NetSuiteSimulator", "create_app"]
