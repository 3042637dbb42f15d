#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H
/// The Linux calls that Glibc's Swift overlay hides or makes awkward: epoll, eventfd, pidfd, signalfd, accept4,
/// and a posix_spawn wrapper that starts a child in its own process group with a clean signal state.
#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <signal.h>

int kg_epoll_create(void);
int kg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; fills `fds` and `events` (parallel arrays of capacity `max`). Returns count or -1/errno.
int kg_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);

int kg_eventfd(void);
int kg_eventfd_signal(int fd);
int kg_eventfd_drain(int fd);

/// pidfd_open(2) via syscall (glibc 2.36 has the wrapper, but older headers may not).
int kg_pidfd_open(pid_t pid);

/// Blocks `signals` (array of `count`) in the calling thread (call before starting threads) and returns a
/// non-blocking, close-on-exec signalfd for them.
int kg_signalfd_block(const int *signals, int count);
/// Reads one pending signal number from a signalfd, or -1 when none is pending.
int kg_signalfd_read(int fd);

int kg_accept4(int fd);
int kg_set_nonblocking(int fd);
int kg_set_nodelay(int fd);

/// Starts `path` with `argv`/`envp` in a new process group, with signals unblocked and reset to default and
/// every descriptor above 2 closed. stdin is /dev/null; stdout/stderr go to `out_fd`/`err_fd` when >= 0 (else
/// inherited). Returns 0 and sets *pid, or an errno value.
int kg_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd, pid_t *pid);

/// kill(-pgid, sig) for a process group, falling back to the pid itself when the group is gone.
int kg_kill_group(pid_t pid, int sig);

/// Non-blocking reap of one child. Returns pid when reaped (status in *status), 0 when still running, -1 on error.
pid_t kg_reap(pid_t pid, int *status);
int kg_wifexited(int status);
int kg_wexitstatus(int status);
int kg_wifsignaled(int status);
int kg_wtermsig(int status);

#endif
