"""Vendor simulators: small HTTP servers that speak each vendor's published wire format."""
