FROM alpine
frobnicate x
