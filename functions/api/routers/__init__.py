"""One router per feature, like the tutorial's blueprints.

The routers (and `api/deps.py`) do without `from __future__ import
annotations`: FastAPI reads every route's signature when the route is
declared, and postponed annotations would make it compile and evaluate each
one from a string, at every cold start of the API function (about 0.6% of
its instructions up to ready: bench/coldstart.py).
"""
