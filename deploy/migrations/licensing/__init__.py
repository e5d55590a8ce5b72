"""Migrations of the licensing service's tables."""
