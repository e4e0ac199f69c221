FROM alpine busybox
