"""NetSuite Token-Based Authentication: OAuth 1.0a, HMAC-SHA256, realm = the account id.

Signed with oauthlib. NetSuite signs the request line and query parameters only (JSON bodies are not
part of the signature base string). A fresh nonce and timestamp are made for every attempt, so a
retried request is signed again (NetSuite refuses a reused nonce).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER, Client

__all__ = ["NetSuiteAuth", "realm_for"]


def realm_for(account_id: str) -> str:
    """NetSuite's realm: the account id upper-cased with '_' (``1234567-sb1`` -> ``1234567_SB1``)."""
    return account_id.strip().upper().replace("-", "_")


def host_for(account_id: str) -> str:
    """The account's REST host: ``1234567_SB1`` -> ``1234567-sb1.suitetalk.api.netsuite.com``."""
    return f"{account_id.strip().lower().replace('_', '-')}.suitetalk.api.netsuite.com"


class NetSuiteAuth(httpx.Auth):
    def __init__(
        self, account_id: str, consumer_key: str, consumer_secret: str, token_id: str, token_secret: str
    ) -> None:
        self.account_id = account_id
        self.realm = realm_for(account_id)
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token_id = token_id
        self._token_secret = token_secret

    def __repr__(self) -> str:  # never show secrets
        return f"NetSuiteAuth(account_id={self.account_id!r})"

    def authorization(
        self, method: str, url: str, *, nonce: str | None = None, timestamp: str | None = None
    ) -> str:
        """The ``Authorization: OAuth ...`` header value for one request."""
        client = Client(
            self._consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self._token_id,
            resource_owner_secret=self._token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
            realm=self.realm,
            nonce=nonce,
            timestamp=timestamp,
        )
        _, headers, _ = client.sign(url, http_method=method.upper())  # type: ignore[arg-type]
        return str(headers["Authorization"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.authorization(request.method, str(request.url))
        yield request
