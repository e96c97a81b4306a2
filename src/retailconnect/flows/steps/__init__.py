"""Reusable flow steps: the guarded ERP, order state, events."""
