"""Revisions of the aps service's schema, oldest first."""
