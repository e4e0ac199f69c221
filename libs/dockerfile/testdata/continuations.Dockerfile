FROM alpine
RUN apk add --no-cache \
      curl \
# a comment inside a continuation is dropped
      git \

      make
RUN echo trailing-space \    
    done
RUN echo ends-with-escaped-backslash \\
RUN \
  echo starts-with-continuation
   # an indented comment
	run echo lower-case and tab-indented
