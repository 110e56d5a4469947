# syntax=docker.io/docker/dockerfile:1
# PLACEHOLDER until the application issue (#4): the Cartesi machine image of streamdex, after the
# Cartesi Python application template (riscv64 base, machine-emulator-tools, rollup-init).
# Only dapp/ and requirements.txt go into the image; client tools never do.
FROM --platform=linux/riscv64 cartesi/python:3.10-slim-jammy

ARG MACHINE_EMULATOR_TOOLS_VERSION=0.14.1
ADD https://github.com/cartesi/machine-emulator-tools/releases/download/v${MACHINE_EMULATOR_TOOLS_VERSION}/machine-emulator-tools-v${MACHINE_EMULATOR_TOOLS_VERSION}.deb /
RUN dpkg -i /machine-emulator-tools-v${MACHINE_EMULATOR_TOOLS_VERSION}.deb \
  && rm /machine-emulator-tools-v${MACHINE_EMULATOR_TOOLS_VERSION}.deb

LABEL io.cartesi.rollups.sdk_version=0.9.0
LABEL io.cartesi.rollups.ram_size=128Mi

WORKDIR /opt/cartesi/dapp
COPY ./requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY ./dapp ./dapp

ENV PATH="/opt/cartesi/bin:${PATH}"
ENV ROLLUP_HTTP_SERVER_URL="http://127.0.0.1:5004"
ENV STREAMDEX_DB="/opt/cartesi/dapp/streamdex.sqlite"

ENTRYPOINT ["rollup-init"]
CMD ["python3", "-m", "dapp"]
