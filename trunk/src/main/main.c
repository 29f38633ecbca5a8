/* rill: arguments, signals, start-up. */
#include "config.h"
#include "rill_error.h"
#include "rill_log.h"
#include "reload.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <st.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RILL_VERSION
#define RILL_VERSION "0.0.0"
#endif

static int g_sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(g_sig_pipe[1], &b, 1) < 0) { /* nothing to do in a handler */ }
    errno = saved;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rill [-c FILE] [-t] [-v] [-h]\n"
               "  -c FILE  config file (default conf/rill.conf)\n"
               "  -t       test the config file and exit\n"
               "  -v       print the version and exit\n");
}

/* Allow as many fds as the hard limit: every player is one. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid > 0) _exit(0);
    setsid();
    pid = fork();
    if (pid < 0) return -1;
    if (pid > 0) _exit(0);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 2) close(fd);
    }
    return 0;
}

static int write_pid(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

static int reload_rpc(void *srv, char *err, size_t errlen) { return reload_config(srv, err, errlen); }

int main(int argc, char **argv)
{
    const char *conf_path = "conf/rill.conf";
    int test_only = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:tvh")) != -1) {
        switch (opt) {
        case 'c': conf_path = optarg; break;
        case 't': test_only = 1; break;
        case 'v': printf("rill/%s\n", RILL_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }

    char err[1024];
    config_t *conf = NULL;
    if (config_load(conf_path, &conf, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (test_only) {
        printf("rill: the configuration file %s syntax is ok\n", conf_path);
        config_free(conf);
        return 0;
    }

    rill_log_set_level(conf->log_level);
    if (conf->log_tank_file && rill_log_open_file(conf->log_file) != 0) {
        fprintf(stderr, "rill: cannot open log file %s: %s\n", conf->log_file, strerror(errno));
        config_free(conf);
        return 1;
    }
    if (conf->daemon && daemonize() != 0) {
        fprintf(stderr, "rill: daemon: %s\n", strerror(errno));
        return 1;
    }
    if (conf->daemon && write_pid(conf->pid_file) != 0)
        rill_warn("cannot write pid file %s: %s", conf->pid_file, strerror(errno));

    raise_nofile();
    /* Debian's libst has no epoll: ALT would silently fall back to select
     * (1024 fds), so ask for poll explicitly. */
    if (st_set_eventsys(ST_EVENTSYS_POLL) != 0 || st_init() != 0) {
        fprintf(stderr, "rill: st_init: %s\n", strerror(errno));
        return 1;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rill_log_set_cid(rill_log_new_cid());
    rill_trace("rill/%s starting, pid %d, config %s, event system %s, max fds %llu", RILL_VERSION, (int)getpid(),
               conf_path, st_get_eventsys_name(), (unsigned long long)rl.rlim_cur);

    if (pipe(g_sig_pipe) != 0) return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    st_netfd_t sigfd = st_netfd_open(g_sig_pipe[0]);

    server_t srv;
    if (server_start(&srv, conf) != 0) {
        rill_error("start failed");
        st_netfd_close(sigfd);
        config_free(conf);
        return 1;
    }
    srv.view.reload = reload_rpc;   /* the API's rpc=reload, as SIGHUP */
    srv.view.reload_ctx = &srv;

    /* SIGHUP reloads the config; SIGUSR1 reopens the log file; SIGINT and SIGTERM stop. */
    unsigned char sig = 0;
    for (;;) {
        if (st_read(sigfd, &sig, 1, ST_UTIME_NO_TIMEOUT) != 1) {
            if (errno == EINTR) continue;
            break;
        }
        if (sig == SIGUSR1) {
            rill_trace("signal %d: reopening the log file", sig);
            if (rill_log_reopen() != 0) rill_error("cannot reopen the log file: %s", strerror(errno));
            else rill_trace("signal %d: log file reopened", sig);
            continue;
        }
        if (sig != SIGHUP) break;
        char why[1024];
        rill_trace("signal %d: reloading %s", sig, srv.env.conf->path);
        reload_config(&srv, why, sizeof why);
    }
    rill_trace("signal %d: stopping", sig);
    server_stop(&srv);
    st_netfd_close(sigfd);
    close(g_sig_pipe[1]);
    if (conf->daemon) unlink(conf->pid_file);
    rill_trace("stopped");
    config_free(srv.env.conf);
    reload_free_retired();
    rill_log_close();
    return 0;
}
