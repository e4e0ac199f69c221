FROM alpine
RUN <<EOF
x
y
EOF
WRKDIR /x
