#ifndef GATEHOUSE_CSHIMS_H
#define GATEHOUSE_CSHIMS_H
#include <stdint.h>
#include <sys/types.h>

/* struct epoll_event is packed on x86_64; Swift cannot lay it out reliably, so we reach it through here. */
typedef struct gh_epoll_ready { int32_t fd; uint32_t events; } gh_epoll_ready;

int gh_epoll_create(void);
int gh_epoll_ctl(int epfd, int op, int fd, uint32_t events);
/* Waits and copies up to `max` ready (fd, events) pairs into `out`. Returns count, or -1 with errno. */
int gh_epoll_wait(int epfd, gh_epoll_ready *out, int max, int timeout_ms);

uint32_t gh_EPOLLIN(void);
uint32_t gh_EPOLLOUT(void);
uint32_t gh_EPOLLERR(void);
uint32_t gh_EPOLLHUP(void);
uint32_t gh_EPOLLRDHUP(void);
uint32_t gh_EPOLLET(void);
int gh_EPOLL_CTL_ADD(void);
int gh_EPOLL_CTL_MOD(void);
int gh_EPOLL_CTL_DEL(void);

int gh_eventfd(void);
int gh_listen_tcp(const char *host, int port, int backlog, int reuseport);
int gh_accept(int fd);
int gh_set_nodelay(int fd);
int gh_local_port(int fd);
/* Writes the peer address (IPv4/IPv6 text) into buf; returns 0 on success. */
int gh_peer_address(int fd, char *buf, int buflen);
ssize_t gh_read(int fd, void *buf, size_t n);
ssize_t gh_write(int fd, const void *buf, size_t n);
ssize_t gh_send(int fd, const void *buf, size_t n);
int gh_close(int fd);
int gh_errno(void);
int gh_EAGAIN(void);
int gh_EINTR(void);
/* Installs SIGTERM/SIGINT handlers that write to an eventfd (async-signal-safe), ignores SIGPIPE, and
   returns that eventfd (blocking), or -1. Whichever thread takes the signal, the fd becomes readable. */
int gh_install_shutdown_signals(void);
/* Blocks until the fd from gh_install_shutdown_signals is readable; returns the last signal number. */
int gh_wait_shutdown_signal(int efd);
void gh_ignore_sigpipe(void);
int gh_shutdown_write(int fd);
uint32_t gh_EPOLLEXCLUSIVE(void);
/* CPUs this process may run on (respects taskset/cgroups affinity). */
int gh_cpu_count(void);
/* Client side: a blocking TCP connection to host:port, with a connect timeout and read/write timeouts of
   `io_timeout_ms` (SO_RCVTIMEO/SO_SNDTIMEO). Returns the fd, or -1 with errno (ETIMEDOUT, ECONNREFUSED…). */
int gh_connect_tcp(const char *host, int port, int connect_timeout_ms, int io_timeout_ms);
/* Bytes that can be read without blocking right now (0 on a closed or idle socket), or -1. */
int gh_readable_now(int fd);
/* Event-loop client side: a non-blocking TCP socket whose connect to a numeric address has started (it may still
   be in progress: wait for EPOLLOUT, then gh_socket_error). Never resolves names, so never blocks. */
int gh_connect_start(const char *numeric_host, int port);
/* The pending error of a socket (SO_ERROR): 0 once a non-blocking connect has succeeded. */
int gh_socket_error(int fd);
/* 1 when an idle kept-alive socket has neither been closed by its peer nor received stray bytes (a non-blocking
   peek finds nothing to read): worth reusing for a request that cannot be sent again. */
int gh_idle_socket_usable(int fd);
/* Resolves host to its first address as numeric text in buf (blocking: call off the event loop). 0 on success. */
int gh_resolve_numeric(const char *host, char *buf, int buflen);
#endif
