# syntax=docker.io/docker/dockerfile:1
# The root drive of the streamdex Cartesi machine, after the Python template of the Cartesi CLI 2.x
# (Cartesi Rollups v2). `cartesi build` builds it and also reads cartesi.toml, which defines the
# data drive that STREAMDEX_DB below lives on: build with the CLI, not with a bare `docker build`.
# Only dapp/ and requirements.txt enter the image (.dockerignore keeps everything else out).

# One day of the Ubuntu archive: a later rebuild installs the same packages, so the same machine.
ARG APT_UPDATE_SNAPSHOT=20260415T030400Z
# machine-guest-tools is machine-emulator-tools renamed (v0.17+); the checksum pins the exact .deb.
ARG MACHINE_GUEST_TOOLS_VERSION=0.17.2
ARG MACHINE_GUEST_TOOLS_SHA256SUM=c077573dbcf0cdc146adf14b480bfe454ca63aa4d3e8408c5487f550a5b77a41

# The machine is RISC-V: the image must be riscv64 whatever the build host is.
FROM --platform=linux/riscv64 cartesi/python:3.13.2-slim-noble

# CLI 2.x ignores these (it reads the RAM size from cartesi.toml, default 128Mi, the figure the
# DESIGN memory budget is written for); they tell tools and readers what the image targets.
LABEL io.cartesi.rollups.sdk_version=0.12.0
LABEL io.cartesi.rollups.ram_size=128Mi

ARG APT_UPDATE_SNAPSHOT
ARG MACHINE_GUEST_TOOLS_VERSION
ARG MACHINE_GUEST_TOOLS_SHA256SUM
ARG DEBIAN_FRONTEND=noninteractive

ADD --checksum=sha256:${MACHINE_GUEST_TOOLS_SHA256SUM} \
  https://github.com/cartesi/machine-guest-tools/releases/download/v${MACHINE_GUEST_TOOLS_VERSION}/machine-guest-tools_riscv64.deb \
  /tmp/machine-guest-tools_riscv64.deb

# The guest tools bring cartesi-init, rollup-init, the rollup HTTP server and the `dapp` user the
# application runs as; their init scripts run on busybox. Certificates are only needed to reach
# the snapshot archive. Caches go: every byte of the root drive is part of the machine.
RUN <<EOF
set -eu
apt-get update
apt-get install -y --no-install-recommends ca-certificates
apt-get update --snapshot=${APT_UPDATE_SNAPSHOT}
apt-get install -y --no-install-recommends busybox-static /tmp/machine-guest-tools_riscv64.deb
apt-get remove -y --purge ca-certificates
apt-get autoremove -y --purge
rm -rf /tmp/machine-guest-tools_riscv64.deb /var/lib/apt/lists/* /var/log/* /var/cache/*
EOF

ENV PATH="/opt/cartesi/bin:${PATH}"

WORKDIR /opt/cartesi/dapp

# Requirements before code, so a code change reuses this layer. Bytecode caches carry build
# timestamps: dropping them keeps the machine hash independent of when the image was built.
COPY requirements.txt .
RUN <<EOF
set -eu
pip install --no-cache-dir -r requirements.txt
find /usr/local/lib -type d -name __pycache__ -exec rm -r {} +
EOF

COPY dapp ./dapp

# The market statistics (dapp/stats/config.py): token names and decimals, and the stablecoin that
# prices everything in USD. Part of the image, so every replay values trades the same way. These
# are the devnet's tokens (`make run` deploys them at these addresses); list your chain's instead.
COPY tokens.json ./tokens.json
ENV STREAMDEX_TOKENS="/opt/cartesi/dapp/tokens.json"
ENV STREAMDEX_STABLECOINS="0x72fE73c1e4170E5047b60c09b36e0DC0dc2410F7"

ENV ROLLUP_HTTP_SERVER_URL="http://127.0.0.1:5004"
# Not next to the code: the root drive is built just large enough for its files and is owned by
# root, while the application runs as `dapp`. cartesi.toml's [drives.data] is an empty ext2 drive
# mounted at /mnt/data and owned by `dapp`; without it this directory does not exist.
ENV STREAMDEX_DB="/mnt/data/streamdex.sqlite"

# The machine runs ENTRYPOINT + CMD as `dapp`: rollup-init starts the rollup HTTP server, then the
# application; when the application exits, the machine halts.
ENTRYPOINT ["rollup-init"]
CMD ["python3", "-m", "dapp"]
