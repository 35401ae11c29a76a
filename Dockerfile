# One image for every Verity service (web, workers, beat, flower); docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=verity.settings VERITY_VAR_DIR=/data
WORKDIR /app

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --create-home --uid 10001 verity \
    && mkdir -p /data && chown verity /data
USER verity

EXPOSE 8000
CMD ["gunicorn", "--pythonpath", "platform", "verity.wsgi", "--bind", "0.0.0.0:8000", \
     "--workers", "4", "--threads", "4", "--timeout", "60", "--access-logfile", "-"]
