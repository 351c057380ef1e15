# syntax=docker/dockerfile:1
# The Saylau image: every `saylau` subcommand in one image; docker-compose.yml picks one per
# service with `command:`. No secret is baked in: they arrive as SAYLAU_* variables at run time.

# --- build: install Saylau and its dependencies into a virtualenv -----------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt

# Then Saylau itself (.dockerignore lets in only pyproject.toml, README.md and the packages).
COPY . .
RUN pip install --no-deps .

# --- run: the virtualenv on a clean slim image, as an unprivileged user ------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="saylau" \
      org.opencontainers.image.description="Saylau: real-time election-day monitoring for observers" \
      org.opencontainers.image.licenses="Apache-2.0"

# /var/lib/saylau-exports is the mount point of compose's `exports` volume: a new named
# volume takes this folder's owner, so the exporter (running as saylau) can write there.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/saylau --create-home \
        --shell /usr/sbin/nologin saylau \
 && install -d -o saylau -g saylau -m 0755 /var/lib/saylau-exports
COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SAYLAU_DATA_DIR=/var/lib/saylau \
    SAYLAU_DASHBOARD_HOST=0.0.0.0

USER saylau
WORKDIR /var/lib/saylau
EXPOSE 8050

# Health checks live in docker-compose.yml: the worker and the dashboard need different ones.
ENTRYPOINT ["saylau"]
# Alone (`docker run -p 8050:8050 saylau:local`) the image runs the single-machine mode.
CMD ["up"]
