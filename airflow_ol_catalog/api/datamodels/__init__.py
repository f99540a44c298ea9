"""Response models, one module per area: they make the OpenAPI document the API reference."""
