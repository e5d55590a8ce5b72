"""Migrations of the gateway service's tables."""
