"""What the catalog reads of Airflow itself in the API server: its Assets, their producers,
consumers and events. Server side only; the plugin module never imports it."""
