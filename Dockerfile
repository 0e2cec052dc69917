# The production image: gunicorn serves the app (threaded workers, settings in gunicorn.conf.py
# and caregov/serving.py), whitenoise serves static files. In docker-compose.yml nginx sits in
# front and takes every request whole before gunicorn sees it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core chromium \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
# /app/media is MEDIA_ROOT (uploaded ECM exports, built packs): owned by caregov here, so the
# named volume docker-compose.yml mounts on it starts out writable by the app.
RUN pip install . && useradd --system --home /app caregov \
    && mkdir -p /app/var /app/media && chown -R caregov /app/var /app/media
RUN DEBUG=false SECRET_KEY=build-only-collectstatic ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput
ENV MEDIA_ROOT=/app/media
USER caregov
EXPOSE 8000
# gunicorn reads ./gunicorn.conf.py (bind, worker class, workers, threads, timeouts).
CMD ["gunicorn", "caregov.wsgi:application"]
