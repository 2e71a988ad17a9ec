# One image for every service: `docker run dgbv-monitor <intake|kpi|notify> [web|scheduler|migrate]`.
# The base image is pinned by digest (python:3.11.10-slim-bookworm): a rebuild gets the same bytes.
FROM python:3.11.10-slim-bookworm@sha256:840e180ebcc6e5c8efab209c43f5e40fd2af98cb49db5c7103c90539c56bb30e

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app \
    HOST=0.0.0.0

RUN groupadd --system dgbv && useradd --system --gid dgbv --home-dir /app --no-create-home dgbv
WORKDIR /app

# The pinned runtime dependencies only (no test or development extras such as the mail catcher),
# first, so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

# The code, once: run from /app (PYTHONPATH), not installed a second time as a package.
COPY shared ./shared
COPY services ./services
COPY deploy/entrypoint.sh /usr/local/bin/entrypoint.sh
RUN chmod 0755 /usr/local/bin/entrypoint.sh

USER dgbv
ENTRYPOINT ["entrypoint.sh"]
CMD ["intake", "web"]
