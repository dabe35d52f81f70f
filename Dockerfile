# The octoagent image: a static binary (CGO_ENABLED=0, no libc) on
# distroless/static, running as the non-root user 65532.
#   docker build -t ghcr.io/octostore/octoagent:$(git describe --tags --always) --build-arg VERSION=$(git describe --tags --always) .
# `make static` builds and checks the same binary without Docker.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party ./third_party
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X runtime.godebugDefault=madvdontneed=0" -o /out/octoagent ./cmd/octoagent \
 && /out/octoagent version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/octoagent /usr/local/bin/octoagent
USER 65532:65532
EXPOSE 9598
ENTRYPOINT ["/usr/local/bin/octoagent"]
CMD ["run", "-c", "/etc/octoagent/config", "--log-format", "json"]
