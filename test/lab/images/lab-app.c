/*
 * The lab's test application, one static binary with five commands:
 *   lab-app serve [port]          HTTP server (default port 8080): answers "lab-app <hostname> <path>",
 *                                 logs one line per request to stdout, exits 0 on SIGTERM/SIGINT.
 *   lab-app echo <words...>       prints the words (for `kubectl exec` checks).
 *   lab-app get <ip> <port> [path]  HTTP/1.0 GET to an IPv4 address, prints the response body;
 *                                 exit 1 on connection failure (for pod-network checks).
 *   lab-app cat                   copies stdin to stdout, prefixing each line with "cat: " (for `kubectl exec -i`).
 *   lab-app stty                  for each line read, prints "size <rows> <cols>" of the terminal on stdin, as
 *                                 `stty size` would (for exec with a TTY and resize; the image has no shell).
 * Built with gcc -static by test/lab/images.ts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig) {
  (void)sig;
  stopping = 1;
}

static int serve(int port) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop; /* no SA_RESTART: accept() returns EINTR so we can exit */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
    fprintf(stderr, "lab-app: cannot listen on :%d: %s\n", port, strerror(errno));
    return 1;
  }
  printf("lab-app: listening on :%d as %s\n", port, host);
  fflush(stdout);

  while (!stopping) {
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int c = accept(fd, (struct sockaddr *)&peer, &plen);
    if (c < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "lab-app: accept: %s\n", strerror(errno));
      continue;
    }
    char req[2048];
    ssize_t n = read(c, req, sizeof req - 1);
    req[n > 0 ? n : 0] = '\0';
    char path[512] = "/";
    sscanf(req, "%*s %511s", path);
    char body[1024];
    int blen = snprintf(body, sizeof body, "lab-app %s %s\n", host, path);
    char head[256];
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", blen);
    if (write(c, head, (size_t)hlen) < 0 || write(c, body, (size_t)blen) < 0) {
      fprintf(stderr, "lab-app: write: %s\n", strerror(errno));
    }
    close(c);
    printf("lab-app: GET %s from %s\n", path, inet_ntoa(peer.sin_addr));
    fflush(stdout);
  }
  printf("lab-app: stopping on signal\n");
  fflush(stdout);
  return 0;
}

static int get(const char *ip, int port, const char *path) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
    fprintf(stderr, "lab-app: not an IPv4 address: %s\n", ip);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    fprintf(stderr, "lab-app: connect %s:%d: %s\n", ip, port, strerror(errno));
    return 1;
  }
  char req[700];
  int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, ip);
  if (write(fd, req, (size_t)len) < 0) return 1;
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  while (total < sizeof buf - 1 && (n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += (size_t)n;
  buf[total] = '\0';
  char *body = strstr(buf, "\r\n\r\n");
  fputs(body ? body + 4 : buf, stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "serve") == 0) return serve(argc > 2 ? atoi(argv[2]) : 8080);
  if (strcmp(argv[1], "echo") == 0) {
    for (int i = 2; i < argc; i++) printf(i > 2 ? " %s" : "%s", argv[i]);
    putchar('\n');
    return 0;
  }
  if (strcmp(argv[1], "cat") == 0) {
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
      printf("cat: %s", line);
      fflush(stdout);
    }
    return 0;
  }
  if (strcmp(argv[1], "stty") == 0) {
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
      struct winsize ws;
      if (ioctl(0, TIOCGWINSZ, &ws) != 0) {
        perror("stty: stdin is not a terminal");
        return 1;
      }
      printf("size %d %d\n", ws.ws_row, ws.ws_col);
      fflush(stdout);
    }
    return 0;
  }
  if (strcmp(argv[1], "get") == 0 && argc >= 4) return get(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : "/");
  fprintf(stderr, "usage: lab-app serve [port] | echo <words...> | cat | stty | get <ip> <port> [path]\n");
  return 2;
}
