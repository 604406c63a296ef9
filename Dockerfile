# gradstage: the web app and its sandbox in one image.
#   docker build -t gradstage .          (or: docker compose up, see compose.yaml)
#   docker run --rm -p 8000:8000 --security-opt seccomp=unconfined \
#     --security-opt apparmor=unconfined --security-opt systempaths=unconfined gradstage
# Without those options bubblewrap cannot make its namespaces inside the container; the server
# then says so at start-up (GET /api/status) and isolates programs with Landlock + seccomp +
# rlimits alone, which need no privileges.

# ---------------------------------------------------------------- 1. the front end (esbuild)
FROM node:22-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY build.mjs tsconfig.json ./
COPY static/src static/src
RUN npm run build

# ---------------------------------------------------------------- 2. the wheel (with the front end)
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
RUN pip install --no-cache-dir hatchling==1.33.0
COPY pyproject.toml README.md ./
COPY app app
COPY templates templates
COPY --from=frontend /src/static/dist static/dist
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist .

# ---------------------------------------------------------------- 3. the runtime
FROM python:3.11-slim-bookworm AS runtime

# bubblewrap: the namespace sandbox; libseccomp2: the syscall filter (through pyseccomp).
# Versions come from the pinned Debian release of the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    GRADSTAGE_HOST=0.0.0.0 \
    GRADSTAGE_PORT=8000

# The CPU build of torch first, from PyTorch's CPU index (the default one brings CUDA, ~3 GB
# more); then every other package the app needs at run time, pinned (torch==2.13.0 is then
# already satisfied by +cpu). Test and lint tools stay out of the image.
COPY requirements-runtime.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir --no-deps /tmp/dist/*.whl && rm -rf /tmp/dist

# An unprivileged user. bubblewrap runs unprivileged too (user namespaces), so nothing needs
# root; programs themselves run as "nobody" inside the sandbox.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin gradstage
USER 10001
WORKDIR /home/gradstage

EXPOSE 8000
# Liveness: the process answers. (Readiness, a warm sandbox worker, is GET /readyz.) The probe
# reads GRADSTAGE_HOST and GRADSTAGE_PORT as the server does (0.0.0.0 is probed on 127.0.0.1),
# so -e GRADSTAGE_PORT=9000 moves both; no --host/--port options, which the probe cannot see.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["gradstage", "healthcheck"]
CMD ["gradstage", "serve"]
