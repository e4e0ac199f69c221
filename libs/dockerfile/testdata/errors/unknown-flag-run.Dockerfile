FROM alpine
RUN --foo=bar make
