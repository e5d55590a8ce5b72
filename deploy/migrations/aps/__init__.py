"""Migrations of the aps service's tables."""
