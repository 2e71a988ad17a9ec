# One image for every service: `docker run dgbv-monitor <intake|kpi|notify> [web|scheduler|migrate]`.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0

RUN groupadd --system dgbv && useradd --system --gid dgbv --home-dir /app --no-create-home dgbv
WORKDIR /app

# Pinned dependencies first, so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY deploy/entrypoint.sh /usr/local/bin/entrypoint.sh
RUN pip install --no-deps . && chmod 0755 /usr/local/bin/entrypoint.sh

USER dgbv
ENTRYPOINT ["entrypoint.sh"]
CMD ["intake", "web"]
