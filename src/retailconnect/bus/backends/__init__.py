"""Bus backends: ``sqlite``, ``postgres`` (shared SQL log in ``sql.py``) and ``nats`` (JetStream)."""
