/*
 * berth-attach: relays between a conmon attach socket and this process's stdio, because Node cannot
 * open the SOCK_SEQPACKET sockets conmon listens on.
 *
 *   usage: berth-attach [--ready-fd=N] [--wait-ms=N] <attach-socket-path>
 *
 * --ready-fd=N: once connected, write one byte ("1") to fd N and close it, so the caller knows the
 *           connection is queued at conmon (exec sessions start the process only after that).
 * --wait-ms=N: a socket that is not there yet (missing, or nobody listening) is tried again every
 *           millisecond for up to N ms: the relay is started while conmon is still starting, so
 *           that its start is not on the way of the container's (bench/README.md, "the attach
 *           relay beside runc create").
 * stdin  -> the socket, byte for byte (conmon writes it to the container's stdin); at EOF the socket is
 *           shut down for writing, which makes conmon close the container's stdin. Input that conmon
 *           no longer takes (EPIPE, ECONNRESET: it has exited) is dropped, and output still queued
 *           on the socket is relayed all the same, also when conmon's close made the kernel report
 *           ECONNRESET before it: ending there lost the whole output of `exec -it … 'tty; exit 6'`
 *           whenever input (`script`'s end-of-input byte) crossed the process's exit (issue 10).
 * socket -> stdout, one frame per packet in Docker's multiplexed stream format:
 *           [stream (1 stdout, 2 stderr)] [0 0 0] [length, 4 bytes big-endian] [data]
 *           conmon prefixes each packet with its pipe number (2 stdout, 3 stderr) in one byte.
 * Exits 0 when conmon closes the socket (the container exited), 1 on errors (text on stderr).
 * A socket path longer than sun_path is reached through /proc/self/fd/<dir fd>/<name>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Writes all of buf to fd; to a socket (`sock`) without SIGPIPE when conmon has closed it (EPIPE). */
static int write_all(int fd, const void *buf, size_t len, int sock) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One connect(2) to the socket at path: the socket fd, or -1 with errno set. */
static int connect_once(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int dfd = -1;
  if (strlen(path) < sizeof(addr.sun_path)) {
    strcpy(addr.sun_path, path);
  } else {
    char *dup1 = strdup(path), *dup2 = strdup(path);
    dfd = open(dirname(dup1), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      free(dup1);
      free(dup2);
      return -1;
    }
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dfd, basename(dup2));
    free(dup1);
    free(dup2);
  }
  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock >= 0 && connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int saved = errno;
    close(sock);
    sock = -1;
    errno = saved;
  }
  if (dfd >= 0) {
    int saved = errno;
    close(dfd);
    errno = saved;
  }
  return sock;
}

int main(int argc, char **argv) {
  int ready_fd = -1;
  long wait_ms = 0;
  while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
    char *end = NULL;
    if (strncmp(argv[1], "--ready-fd=", 11) == 0) {
      ready_fd = (int)strtol(argv[1] + 11, &end, 10);
      if (*end != '\0' || ready_fd < 0) ready_fd = -2;
    } else if (strncmp(argv[1], "--wait-ms=", 10) == 0) {
      wait_ms = strtol(argv[1] + 10, &end, 10);
      if (*end != '\0' || wait_ms < 0) ready_fd = -2;
    } else {
      ready_fd = -2;
    }
    argv++;
    argc--;
  }
  if (argc != 2 || ready_fd == -2) {
    fprintf(stderr, "usage: berth-attach [--ready-fd=N] [--wait-ms=N] <attach-socket-path>\n");
    return 2;
  }
  const char *path = argv[1];
  int sock;
  for (long waited = 0;; waited++) {
    sock = connect_once(path);
    if (sock >= 0 || waited >= wait_ms || (errno != ENOENT && errno != ECONNREFUSED)) break;
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&ms, NULL);
  }
  if (sock < 0) {
    fprintf(stderr, "berth-attach: connect %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (ready_fd >= 0) {
    if (write_all(ready_fd, "1", 1, 0) < 0) {
      perror("berth-attach: write ready fd");
      return 1;
    }
    close(ready_fd);
  }
  char buf[65536 + 8];
  struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
  int stdin_open = 1;
  int stdin_lost = 0;
  for (;;) {
    if (poll(fds, stdin_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      perror("berth-attach: poll");
      return 1;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(sock, buf + 7, sizeof(buf) - 7, 0);
      /* ECONNRESET: conmon closed the socket with input of ours unread (it does not read it once
       * the process has exited). The kernel reports that error once, before the packets still
       * queued: read on, they are the process's last output. */
      if (n < 0 && (errno == EINTR || errno == ECONNRESET)) continue;
      if (n <= 0) return 0;
      /* buf[7] is conmon's pipe byte; the header overwrites bytes 0..7 in place. */
      uint32_t len = (uint32_t)(n - 1);
      buf[0] = buf[7] == 3 ? 2 : 1;
      buf[1] = buf[2] = buf[3] = 0;
      buf[4] = (char)(len >> 24);
      buf[5] = (char)(len >> 16);
      buf[6] = (char)(len >> 8);
      buf[7] = (char)len;
      if (len > 0 && write_all(STDOUT_FILENO, buf, len + 8, 0) < 0) return 1;
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(STDIN_FILENO, buf, 32768);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stdin_open = 0;
        if (!stdin_lost) shutdown(sock, SHUT_WR);
      } else if (!stdin_lost && write_all(sock, buf, (size_t)n, 1) < 0) {
        /* conmon no longer reads (the process ended and conmon is draining its output, or exited):
         * the input is dropped from now on, but output still queued on the socket is relayed. */
        stdin_lost = 1;
      }
    }
  }
}
