"""HTTP edge: the FastAPI application (``api.app:create_app``)."""
