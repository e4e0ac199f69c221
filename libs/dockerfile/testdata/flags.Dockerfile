FROM alpine
RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked --mount=type=bind,from=build,source=/out,target=/mnt \
    --network=none pip install -r requirements.txt
RUN --mount=target=/src,rw --mount=type=tmpfs,target=/tmp,size=64m --mount=type=secret,id=token --security=insecure make
RUN --mount=type=ssh ssh-add -l
COPY --link --exclude=*.md --exclude=docs/ --parents src/./a src/./b /dst/
COPY --from=build --chown=app "--chmod=755" bin /bin/
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.10.1 /buildkit
ADD --link --unpack=false archive.tar.gz /opt/
COPY -- --not-a-flag /x
COPY ["file with spaces.txt", "/dest dir/"]
