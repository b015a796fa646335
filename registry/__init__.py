"""The registry service: HTTP API over versioned contracts, on SQLite or PostgreSQL."""
