# xai-gov API service. The data directory (SQLite database and artifacts) is a volume;
# set XAI_GOV_DATABASE_URL to use PostgreSQL instead of the embedded SQLite.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XAI_GOV_HOME=/data \
    XAI_GOV_POLICIES_DIR=/app/policies

RUN groupadd --system --gid 10001 xai \
    && useradd --system --uid 10001 --gid xai --home-dir /app --shell /usr/sbin/nologin xai \
    && mkdir -p /data \
    && chown xai:xai /data

WORKDIR /app
# Dependencies first, pinned by requirements.lock (`make lock`), so code changes reuse this layer.
COPY requirements.lock ./
RUN pip install --no-cache-dir --requirement requirements.lock
COPY pyproject.toml README.md ./
COPY xai_gov ./xai_gov
COPY api ./api
COPY policies ./policies
RUN pip install --no-cache-dir --no-deps .

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
CMD ["xai-gov", "serve", "--host", "0.0.0.0", "--port", "8000"]
