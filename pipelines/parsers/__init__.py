"""Readers for landing file formats (tables, JSON); the kinds in pipelines/kinds/ build on them."""
