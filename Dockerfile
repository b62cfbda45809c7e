FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
# Collected with the production storage (hashed names and their manifest), which is what the
# production settings serve; the build-time secrets are random and not kept in the image.
RUN DJANGO_PRODUCTION=1 DJANGO_ALLOWED_HOSTS=build SITE_URL=https://build.invalid \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
    ORDER_EVENTS_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    python manage.py collectstatic --noinput
# The app runs as a user of its own, not root: it owns only the uploads' folder.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/media && chown app:app /app/media
USER app
EXPOSE 8000
ENV DJANGO_PRODUCTION=1
CMD ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000", "-w", "3"]
