# Self-hosting on one server, as in the tutorial's Docker chapter: the local
# stack (the static site and /api on one origin, SQLite, in-process page
# rebuilds) behind uvicorn.
#
#   docker build -t microblog .
#   docker run -d --name microblog -p 8000:8000 -v microblog-data:/data \
#     -e SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" \
#     -e SITE_URL=http://localhost:8000 microblog
#
# One process, on purpose: a write re-renders its pages in the process that
# took it, under that process's lock, and SQLite has one writer at a time;
# several workers would race on the same pages. uvicorn is a production ASGI
# server; put a TLS-terminating proxy in front of it for a public site.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt requirements-lambda.txt ./
RUN pip install -r requirements.txt

RUN useradd --create-home --uid 10001 microblog \
    && mkdir /data \
    && chown microblog:microblog /data
COPY build.py ./
COPY functions ./functions
COPY templates ./templates
COPY content ./content
COPY translations ./translations

# Run data (SQLite, mail outbox) and the built site live on the volume. The
# signing key comes from SECRET_KEY (without it one is generated on the volume).
ENV VAR_DIR=/data/var \
    SITE_DIR=/data/site \
    SITE_URL=http://localhost:8000
VOLUME ["/data"]
USER microblog
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/', timeout=4)"]
CMD ["python", "build.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
