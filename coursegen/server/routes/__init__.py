"""Group the HTTP routers of the service."""
