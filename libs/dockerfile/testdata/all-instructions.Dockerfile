# syntax=docker/dockerfile:1
# check=skip=JSONArgsRecommended

# A comment after the directives.
ARG BASE=busybox:1.36
FROM ${BASE} AS base
MAINTAINER Jane Doe <jane@example.com>
LABEL org.opencontainers.image.title="berth test" version=1.0 "quoted key"=value
ENV PATH=/usr/local/bin:$PATH GREETING="hello world"
ENV LEGACY value with   spaces
ARG USERNAME=app VERSION
WORKDIR /app
WORKDIR sub
COPY --chown=1000:1000 --chmod=0644 a.txt b.txt ./
ADD https://example.com/file.tar.gz /tmp/
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x /x
RUN echo "$GREETING" > /greeting
RUN ["/bin/sh", "-c", "echo exec form"]
EXPOSE 80 443/tcp 53/udp $PORT
VOLUME /data /logs
VOLUME ["/cache"]
USER app:app
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD curl -f http://localhost/ || exit 1
SHELL ["/bin/bash", "-eu", "-c"]
ONBUILD COPY . /src
ENTRYPOINT ["/entrypoint.sh"]
CMD ["--help"]
