"""The read path: catalog entities in Marquez's shapes, and lineage graphs."""
