FROM alpine
RUN --mount=type=cache,target=/x,colour=red true
