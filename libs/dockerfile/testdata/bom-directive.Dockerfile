# escape=`
FROM alpine
# escape=\
RUN echo `
  continued
