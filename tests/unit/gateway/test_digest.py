"""The idempotency body digest is store.request_hash's, whatever the body size."""

from __future__ import annotations

import os

import pytest

from retailconnect.gateway.idempotency import body_digest
from retailconnect.store import request_hash


@pytest.mark.parametrize("size", [0, 1, 2046, 2047, 2048, 2645, 4095, 70_000])
def test_body_digest_is_request_hash(size):
    body = os.urandom(size)
    assert body_digest("/v1/orders", body) == request_hash("/v1/orders", body)
    assert body_digest("/v1/orders", body) != request_hash("/v1/returns", body)
