from __future__ import annotations

import json
from pathlib import Path

import httpx

from retailconnect.connectors.netsuite import classify_netsuite
from retailconnect.errors import AuthError, RateLimitError, TransientError, VendorRejectedError

FIX = Path(__file__).parents[3] / "fixtures" / "netsuite"


def resp(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


def ns_body(status: int, code: str, detail: str = "x") -> dict[str, object]:
    return {
        "type": "t",
        "title": "T",
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }


def test_429_is_rate_limit_with_retry_after() -> None:
    err = classify_netsuite(
        resp(429, ns_body(429, "CONCURRENCY_LIMIT_EXCEEDED"), {"Retry-After": "2"}), operation="op"
    )
    assert isinstance(err, RateLimitError) and err.retryable and err.retry_after == 2.0


def test_restlet_400_sss_request_limit_is_retryable() -> None:
    err = classify_netsuite(
        resp(400, {"error": {"code": "SSS_REQUEST_LIMIT_EXCEEDED", "message": "limit"}}), operation="op"
    )
    assert isinstance(err, RateLimitError) and err.retryable


def test_5xx_is_transient() -> None:
    err = classify_netsuite(resp(503, ns_body(503, "UNEXPECTED_ERROR")), operation="op")
    assert isinstance(err, TransientError) and err.retryable


def test_invalid_item_is_business_error_with_path_and_readable_message() -> None:
    body = json.loads((FIX / "error_invalid_item.json").read_text())
    err = classify_netsuite(resp(400, body), operation="upsert_salesOrder", context={"order_number": "1001"})
    assert isinstance(err, VendorRejectedError) and not err.retryable
    assert "Invalid Field Value 9999" in err.message
    assert err.context["netsuite_path"] == "item.items[0].item"
    assert err.context["netsuite_code"] == "INVALID_CONTENT"
    assert err.context["order_number"] == "1001"


def test_login_failure_is_auth_error() -> None:
    body = json.loads((FIX / "error_login.json").read_text())
    assert isinstance(classify_netsuite(resp(401, body), operation="op"), AuthError)


def test_success_is_none() -> None:
    assert classify_netsuite(httpx.Response(204), operation="op") is None


def test_governance_answers_as_published() -> None:
    from retailconnect.connectors.netsuite import parse_governance

    specific = {"accountConcurrencyLimit": 5, "accountUnallocatedConcurrencyLimit": 3,
                "integrationConcurrencyLimit": 2, "integrationLimitType": "integrationSpecific"}  # fmt: skip
    shared = {
        "accountConcurrencyLimit": 5,
        "accountUnallocatedConcurrencyLimit": 3,
        "integrationLimitType": "accountLimit",
    }
    assert parse_governance(specific) == 2
    assert parse_governance(shared) == 3
    assert parse_governance({}) is None
