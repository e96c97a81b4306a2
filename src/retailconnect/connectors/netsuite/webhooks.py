"""NetSuite does not push webhooks to integrations over REST web services (its outbound calls are
user-written SuiteScript), so this connector declares no verifier: the hub reads NetSuite by SuiteQL
and record GETs. Kept as a module so every connector has the same file set (STYLE.md B5)."""

from __future__ import annotations

__all__ = ["webhook_verifier"]

webhook_verifier = None
