"""Migrations of the extensions service's tables."""
