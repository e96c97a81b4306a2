"""Gateway fixtures: one definition in tests/support/gateway_testkit.py."""

from gateway_testkit import client, fake_hub_cls, hub, keys, make_client, order_body, signer, store

__all__ = ["client", "fake_hub_cls", "hub", "keys", "make_client", "order_body", "signer", "store"]
