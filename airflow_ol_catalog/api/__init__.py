"""The catalog's FastAPI application, mounted by the plugin at /ol-catalog."""
