"""Revisions of the gateway service's schema, oldest first."""
