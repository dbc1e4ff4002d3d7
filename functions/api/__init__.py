"""The HTTP API under `/api`: a FastAPI app with one router per feature."""
