"""Revisions of the extensions service's schema, oldest first."""
