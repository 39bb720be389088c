# Emerald application image (web, worker and beat share it).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings to load; these build-time values are thrown away with the layer.
RUN SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=$(python -c "from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())") \
    JWT_PRIVATE_KEY=x JWT_PUBLIC_KEY=x DEBUG=true python manage.py collectstatic --noinput
RUN useradd --create-home emerald && chown -R emerald /app
USER emerald
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "erp.asgi:application"]
