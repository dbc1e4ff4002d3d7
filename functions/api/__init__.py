"""The HTTP API under `/api`: a FastAPI app with one router per feature."""

import sys

# FastAPI imports `pydantic.v1` (a second, complete pydantic: ~25 ms of every
# cold start) only to refuse v1 models, and reads its absence as "no v1
# models" (fastapi/_compat/shared.py). This API has none: mark it absent
# before the routes are declared, as FastAPI's TODO expects pydantic to do.
sys.modules.setdefault("pydantic.v1", None)
