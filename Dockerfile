FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY alignment ./alignment
COPY core ./core
COPY leads ./leads
COPY scoring ./scoring
COPY funnel ./funnel
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=false SECRET_KEY=build-only STATIC_MANIFEST=true python manage.py collectstatic --no-input \
    && useradd --create-home alignment && chown -R alignment /app/var
USER alignment
EXPOSE 8000
CMD ["gunicorn", "alignment.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
