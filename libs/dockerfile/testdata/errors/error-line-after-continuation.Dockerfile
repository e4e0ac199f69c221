FROM alpine
RUN a \
  b
COPY \
  x
