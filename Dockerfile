# syntax=docker/dockerfile:1
# cutout-server images. Two targets:
#
#   docker build -t cutout:cuda .                  NVIDIA GPU (Cloud Run L4): the default, last stage
#   docker build -t cutout:cpu --target cpu .      CPU only, Debian 12, as scripts/setup.sh sets up
#
# The model is baked into the image at build time (nothing is downloaded when a container starts):
# by default the official InSPyReNet checkpoint (ckpt_base.pth, pinned by URL and sha256) exported with
# `models/export.py inspyrenet --size 1024`; or, with --build-arg MODEL_SOURCE=file, a TorchScript file
# already made (MODEL_FILE, a path in the build context, e.g. models/default.pt from
# scripts/make_default_model.sh). Every version is pinned by the build args below; docs/deploy.md says
# how to change them and what the images weigh.

# --- pinned versions ----------------------------------------------------------------------------------
# Debian 12 images and packages: a dated image tag and the snapshot.debian.org archive of that date.
ARG DEBIAN_IMAGE=debian:bookworm-20251229-slim
ARG DEBIAN_SNAPSHOT=20251229T000000Z
# CUDA 12.6 on Ubuntu 24.04 (the runtime stage needs only the base flavour: LibTorch brings its own
# cuBLAS/cuDNN/NVRTC). Cloud Run's L4 driver is R535 (CUDA 12.2): CUDA 12.x minor-version
# compatibility covers it, and PyTorch's cu126 kernels are built for sm_86, which runs on the L4's sm_89.
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04
ARG CUDA_BASE_IMAGE=nvidia/cuda:12.6.3-base-ubuntu24.04
ARG UBUNTU_SNAPSHOT=20251229T000000Z
# The official LibTorch, CUDA build, cxx11 ABI, pinned by LIBTORCH_SHA256. PyTorch publishes no
# checksum for the archive and none could be read from where this was written, so the pin has no
# default: the CUDA build refuses to start without one, and stops when the bytes differ.
# Compute it once (docs/deploy.md, "LibTorch's pin"):
#   curl -fsSL https://download.pytorch.org/libtorch/cu126/libtorch-cxx11-abi-shared-with-deps-2.6.0%2Bcu126.zip | sha256sum
ARG LIBTORCH_VERSION=2.6.0
ARG LIBTORCH_CUDA=cu126
ARG LIBTORCH_SHA256=
# The model.
ARG MODEL_SOURCE=inspyrenet
ARG MODEL_FILE=models/default.pt
ARG INSPYRENET_CKPT_URL=https://huggingface.co/plemeri/InSPyReNet/resolve/d94c2baaa4d023ab018c6f97be6ef37548e3bd1f/ckpt_base.pth
ARG INSPYRENET_CKPT_SHA256=0a6fe2a73ab0532d6d0b8d82849a9760a226df719e3063d09b4149ece6f80fcd
ARG INSPYRENET_SIZE=1024
# The unprivileged user the server runs as.
ARG APP_UID=10001

# --- model: official InSPyReNet checkpoint -> TorchScript -----------------------------------------------
# Exported with Debian's PyTorch 1.13, the toolchain models/ is tested with (newer LibTorch, as in the
# CUDA image, loads TorchScript files from older versions).
FROM ${DEBIAN_IMAGE} AS model-inspyrenet
ARG DEBIAN_SNAPSHOT
ARG INSPYRENET_CKPT_URL
ARG INSPYRENET_CKPT_SHA256
ARG INSPYRENET_SIZE
COPY deploy/docker/apt-pin.sh /usr/local/bin/apt-pin
RUN apt-pin "${DEBIAN_SNAPSHOT}" \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ca-certificates curl python3 python3-torch python3-numpy \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY models/__init__.py models/export.py models/cutout_meta.py models/golden.py models/fp16_check.py models/
COPY models/inspyrenet models/inspyrenet
RUN curl -fsSL --retry 3 -o /tmp/ckpt.pth "${INSPYRENET_CKPT_URL}" \
 && echo "${INSPYRENET_CKPT_SHA256}  /tmp/ckpt.pth" | sha256sum -c - \
 && mkdir -p /model \
 && python3 models/export.py inspyrenet --checkpoint /tmp/ckpt.pth --size "${INSPYRENET_SIZE}" --out /model/model.pt \
 && rm /tmp/ckpt.pth

# --- model: a TorchScript file from the build context ---------------------------------------------------
FROM scratch AS model-file
ARG MODEL_FILE
COPY ${MODEL_FILE} /model/model.pt

# The model stage the runtime stages copy from: model-inspyrenet or model-file.
FROM model-${MODEL_SOURCE} AS model

# --- CPU build: Debian 12 with the packages scripts/setup.sh installs -------------------------------------
FROM ${DEBIAN_IMAGE} AS build-cpu
ARG DEBIAN_SNAPSHOT
COPY deploy/docker/apt-pin.sh /usr/local/bin/apt-pin
RUN apt-pin "${DEBIAN_SNAPSHOT}" \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libtorch-dev libopencv-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev \
      libjpeg-dev liblcms2-dev zlib1g-dev libwebp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What the configure and build read: CMakeLists.txt includes bench/gpu/engine_bench.cmake (its tools are
# off by default) and src/http embeds the demo page from web/. tests/deploy/stage_build.py builds this
# stage from exactly these lines.
COPY CMakeLists.txt ./
COPY bench/gpu/engine_bench.cmake bench/gpu/engine_bench.cmake
COPY src src
COPY web web
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUTOUT_BUILD_TESTS=OFF \
 && cmake --build build \
 && strip build/cutout-server

# --- CPU runtime ---------------------------------------------------------------------------------------
# The packages that own the binary's NEEDED libraries (plus OpenBLAS, which setup.sh prefers to the
# reference BLAS); tests/deploy checks this list against `ldd build/cutout-server` with dpkg -S.
FROM ${DEBIAN_IMAGE} AS cpu
ARG DEBIAN_SNAPSHOT
ARG APP_UID
COPY deploy/docker/apt-pin.sh /usr/local/bin/apt-pin
RUN apt-pin "${DEBIAN_SNAPSHOT}" \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libtorch1.13 libopenblas0-pthread \
      libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 \
      libjpeg62-turbo liblcms2-2 zlib1g libwebp7 \
      libcpp-httplib0.11 libspdlog1.10 libfmt9 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid "${APP_UID}" --user-group --no-create-home --shell /usr/sbin/nologin cutout
COPY --from=build-cpu /src/build/cutout-server /opt/cutout/bin/cutout-server
COPY --from=model /model/model.pt /opt/cutout/models/model.pt
# Fail the build, not the first start, when a library is missing.
RUN ! ldd /opt/cutout/bin/cutout-server | grep 'not found' && /opt/cutout/bin/cutout-server --version
ENV PORT=8080 \
    CUTOUT_MODEL=/opt/cutout/models/model.pt \
    CUTOUT_DEVICE=cpu \
    CUTOUT_LOG_FORMAT=json
USER ${APP_UID}:${APP_UID}
EXPOSE 8080
ENTRYPOINT ["/opt/cutout/bin/cutout-server"]

# --- CUDA build: CUDA toolkit image + official LibTorch (cxx11 ABI) ------------------------------------
# LibTorch's CMake package needs nvcc at configure time, hence the devel image here and only here.
# LibTorch bundles {fmt} headers for its own use; they would shadow Ubuntu's fmt 9, which spdlog is
# built against (-isystem /opt/libtorch/include comes before /usr/include): moved out of the way.
FROM ${CUDA_DEVEL_IMAGE} AS build-cuda
ARG UBUNTU_SNAPSHOT
ARG LIBTORCH_VERSION
ARG LIBTORCH_CUDA
ARG LIBTORCH_SHA256
COPY deploy/docker/apt-pin.sh /usr/local/bin/apt-pin
RUN apt-pin "${UBUNTU_SNAPSHOT}" \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ca-certificates curl unzip g++ cmake ninja-build pkg-config \
      libopencv-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev \
      libjpeg-dev liblcms2-dev zlib1g-dev libwebp-dev \
 && rm -rf /var/lib/apt/lists/*
RUN if ! echo "${LIBTORCH_SHA256}" | grep -Eqx '[0-9a-f]{64}'; then \
      echo "LIBTORCH_SHA256 must be the archive's sha256 (64 hex digits), got '${LIBTORCH_SHA256}': see docs/deploy.md" >&2; \
      exit 1; \
    fi \
 && curl -fsSL --retry 3 -o /tmp/libtorch.zip \
      "https://download.pytorch.org/libtorch/${LIBTORCH_CUDA}/libtorch-cxx11-abi-shared-with-deps-${LIBTORCH_VERSION}%2B${LIBTORCH_CUDA}.zip" \
 && echo "${LIBTORCH_SHA256}  /tmp/libtorch.zip" | sha256sum -c - \
 && unzip -q /tmp/libtorch.zip -d /opt \
 && rm /tmp/libtorch.zip \
 && if [ -d /opt/libtorch/include/fmt ]; then mv /opt/libtorch/include/fmt /opt/libtorch/fmt-not-used; fi
WORKDIR /src
# What the configure and build read: CMakeLists.txt includes bench/gpu/engine_bench.cmake (its tools are
# off by default) and src/http embeds the demo page from web/. tests/deploy/stage_build.py builds this
# stage from exactly these lines.
COPY CMakeLists.txt ./
COPY bench/gpu/engine_bench.cmake bench/gpu/engine_bench.cmake
COPY src src
COPY web web
COPY deploy/docker/runtime-packages.sh deploy/docker/runtime-packages.sh
# The binary keeps an RPATH to /opt/libtorch/lib, where the runtime stage puts the same files.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUTOUT_BUILD_TESTS=OFF \
      -DCMAKE_PREFIX_PATH=/opt/libtorch \
 && cmake --build build \
 && strip build/cutout-server \
 && deploy/docker/runtime-packages.sh build/cutout-server /opt/libtorch/lib /usr/local/cuda > build/runtime-packages.txt \
 && cat build/runtime-packages.txt

# --- CUDA runtime (default target) ------------------------------------------------------------------
# CUDA base image (driver hook-up, cuda-compat) + LibTorch's lib/ (its own CUDA libraries) + the Ubuntu
# packages that own the rest of what the binary loads, as listed by the build stage.
FROM ${CUDA_BASE_IMAGE} AS cuda
ARG UBUNTU_SNAPSHOT
ARG APP_UID
COPY --from=build-cuda /src/build/runtime-packages.txt /tmp/runtime-packages.txt
COPY deploy/docker/apt-pin.sh /usr/local/bin/apt-pin
RUN apt-pin "${UBUNTU_SNAPSHOT}" \
 && apt-get update -q \
 && xargs -a /tmp/runtime-packages.txt env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --uid "${APP_UID}" --user-group --no-create-home --shell /usr/sbin/nologin cutout
COPY --from=build-cuda /opt/libtorch/lib /opt/libtorch/lib
COPY --from=build-cuda /src/build/cutout-server /opt/cutout/bin/cutout-server
COPY --from=model /model/model.pt /opt/cutout/models/model.pt
# Fail the build, not the first start, when a library is missing (libcuda comes from the host's driver).
RUN ! ldd /opt/cutout/bin/cutout-server | grep -v 'libcuda\.so' | grep 'not found' \
 && /opt/cutout/bin/cutout-server --version
# LAZY: load CUDA kernels when first used, not all of LibTorch's at start (faster start, less memory).
ENV PORT=8080 \
    CUTOUT_MODEL=/opt/cutout/models/model.pt \
    CUTOUT_LOG_FORMAT=json \
    CUDA_MODULE_LOADING=LAZY
USER ${APP_UID}:${APP_UID}
EXPOSE 8080
ENTRYPOINT ["/opt/cutout/bin/cutout-server"]
