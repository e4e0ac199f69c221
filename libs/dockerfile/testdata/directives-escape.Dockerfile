# escape=`
# syntax = docker/dockerfile:1

FROM mcr.microsoft.com/windows/servercore
COPY testfile.txt c:\
RUN dir c:\ `
    && echo done
ENV A=c:\path\with` 
