"""Address and Customer."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from .base import CanonicalModel, Entity

__all__ = ["Address", "Customer", "CustomerContact"]


class Address(CanonicalModel):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region_code: str | None = None
    postal_code: str | None = None
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    phone: str | None = None

    @field_validator("country_code", mode="before")
    @classmethod
    def _country(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        if not isinstance(v, str) or len(v.strip()) != 2 or not v.strip().isalpha():
            raise ValueError("country_code must be an ISO 3166-1 alpha-2 code such as 'US'")
        return v.strip().upper()


class CustomerContact(CanonicalModel):
    """The customer as seen on an order."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        if not isinstance(v, str) or "@" not in v:
            raise ValueError("email must contain '@'")
        return v.strip().lower()


class Customer(Entity):
    schema_name = "customer"

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tenant: str | None = None
    addresses: list[Address] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    accepts_marketing: bool = False
    credit_hold: bool = False

    _norm_email = field_validator("email", mode="before")(CustomerContact._email.__func__)  # type: ignore[attr-defined]
