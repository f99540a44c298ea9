"""Catalog tables, their migrations, and the engine the catalog writes through."""
