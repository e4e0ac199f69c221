FROM alpine
COPY --chwon=1:1 a b
