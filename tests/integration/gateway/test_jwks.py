"""OAuth2 client-credentials tokens signed with RS256, verified against a JWKS URL served on loopback."""

from __future__ import annotations

import json
import time

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from retailconnect.gateway import GatewaySettings, JwtSettings
from retailconnect.simulators._kit import start_in_thread


async def test_rs256_token_verified_against_jwks_url(make_client):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})

    async def jwks(_request):
        return JSONResponse({"keys": [jwk]})

    idp = start_in_thread(Starlette(routes=[Route("/.well-known/jwks.json", jwks)]))
    try:
        client = await make_client(
            GatewaySettings(
                jwt=JwtSettings(jwks_url=f"{idp.url}/.well-known/jwks.json", issuer="https://idp.test",
                                audience="retailconnect", algorithms=("RS256",))
            )
        )  # fmt: skip
        claims = {
            "iss": "https://idp.test", "aud": "retailconnect", "client_id": "pos-partner", "tenant": "brand-a",
            "scope": "availability:read", "exp": int(time.time()) + 120,
        }  # fmt: skip
        good = pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        r = await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 200 and r.json()["available"] == 7
        forged = pyjwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
        r = await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        no_tenant = pyjwt.encode({k: v for k, v in claims.items() if k != "tenant"}, key, algorithm="RS256",
                                 headers={"kid": "k1"})  # fmt: skip
        r = await client.get("/v1/availability?sku=A", headers={"Authorization": f"Bearer {no_tenant}"})
        assert r.status_code == 401 and "tenant" in r.json()["detail"]
    finally:
        idp.stop()
