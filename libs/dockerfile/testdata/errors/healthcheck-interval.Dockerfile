FROM alpine
HEALTHCHECK --interval=100us CMD true
