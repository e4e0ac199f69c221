ARG GO_VERSION=1.22
ARG TARGETOS
from --platform=$BUILDPLATFORM golang:${GO_VERSION} as Builder
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM scratch AS final
COPY --from=builder /out/app /app
COPY --from=0 /etc/ssl/certs /etc/ssl/certs
COPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf
Entrypoint ["/app"]

FROM final
