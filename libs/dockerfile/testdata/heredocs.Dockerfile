FROM alpine
RUN <<EOF
echo "hello $HOME"
mkdir -p /out
EOF
RUN <<-EOT sh -eux
	echo tabs are stripped
		echo all leading tabs
	EOT
RUN python3 <<'PY'
print("$NOT_EXPANDED")
PY
RUN cat <<A > /a && cat <<"B" > /b
first
A
second $X
B
RUN 3<<FD cat /dev/fd/3
via fd
FD
COPY <<EOF /etc/motd
Welcome, $USER
EOF
COPY --chmod=0755 <<script.sh <<"other.sh" /usr/local/bin/
#!/bin/sh
echo hi
script.sh
raw $X
other.sh
ONBUILD RUN <<EOF
echo from onbuild
EOF
RUN ["echo", "<<NOTHEREDOC"]
RUN echo no heredoc here: a<<b
