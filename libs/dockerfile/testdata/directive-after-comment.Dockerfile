# About this file
# escape=`
FROM alpine
RUN echo a \
    b
