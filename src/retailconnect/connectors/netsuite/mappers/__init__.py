"""Mappers canonical <-> NetSuite records (pure functions)."""

from .order import order_from_netsuite as order_from_netsuite
from .order import order_to_netsuite as order_to_netsuite
from .records import credit_to_netsuite as credit_to_netsuite
from .records import customer_to_netsuite as customer_to_netsuite
from .records import fulfillment_to_netsuite as fulfillment_to_netsuite
from .records import payment_to_netsuite as payment_to_netsuite
from .records import return_authorization_to_netsuite as return_authorization_to_netsuite

__all__ = [
    "credit_to_netsuite",
    "customer_to_netsuite",
    "fulfillment_to_netsuite",
    "order_from_netsuite",
    "order_to_netsuite",
    "payment_to_netsuite",
    "return_authorization_to_netsuite",
]
