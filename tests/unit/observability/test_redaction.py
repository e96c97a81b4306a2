from __future__ import annotations

from retailconnect.observability.redaction import REDACTED, redact, redact_headers, redact_text


def test_secret_keys_and_text_are_redacted() -> None:
    out = redact(
        {
            "order": {"id": 1, "api_key": "abc"},
            "headers": {"Authorization": "Bearer xyz"},
            "note": "call with token=s3cr3t and Bearer abcdef123456",
            "lines": [{"password": "p"}],
        }
    )
    assert out["order"] == {"id": 1, "api_key": REDACTED}
    assert out["headers"]["Authorization"] == REDACTED
    assert "s3cr3t" not in out["note"] and "abcdef123456" not in out["note"]
    assert out["lines"][0]["password"] == REDACTED


def test_headers_and_plain_text() -> None:
    assert redact_headers({"X-Shopify-Hmac-Sha256": "x", "Content-Type": "json"}) == {
        "X-Shopify-Hmac-Sha256": REDACTED,
        "Content-Type": "json",
    }
    assert redact_text("nothing secret here") == "nothing secret here"
