"""Connectors: one subpackage per external system (auth, client, webhooks, wire models, mappers)."""
