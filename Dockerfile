# The emulator as a container: SQLite in /data by default, PostgreSQL through EMULATOR_DATABASE_URL.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY seed_data ./seed_data
RUN pip install --no-cache-dir '.[postgres]' && useradd --create-home emulator && mkdir /data && chown emulator /data
USER emulator
ENV EMULATOR_DATABASE_URL=sqlite:////data/emulator.db
VOLUME /data
EXPOSE 5555
# Bound beyond loopback, the control plane (/_emulator/) needs EMULATOR_ADMIN_KEY (X-Emulator-Admin-Key header).
CMD ["dataverse-emulator", "serve", "--host", "0.0.0.0", "--port", "5555"]
