"""Revisions of the licensing service's schema, oldest first."""
