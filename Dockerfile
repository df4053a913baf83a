# The emulator as a container: SQLite in /data by default, PostgreSQL through EMULATOR_DATABASE_URL.
#   docker build -t dataverse-emulator . && docker run --rm -p 127.0.0.1:5555:5555 dataverse-emulator
# Checked by hadolint and built with a smoke request by tests/test_docker.py (`make docker-check`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY seed_data ./seed_data
# The project installs itself from this source tree; its dependencies are pinned by ranges in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[postgres]' \
    && useradd --uid 10001 --create-home emulator \
    && mkdir /data && chown 10001 /data
USER 10001
ENV EMULATOR_DATABASE_URL=sqlite:////data/emulator.db \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=5555
VOLUME /data
EXPOSE 5555
# Bound beyond loopback, the control plane (/_emulator/) needs EMULATOR_ADMIN_KEY (X-Emulator-Admin-Key header).
CMD ["dataverse-emulator", "serve"]
