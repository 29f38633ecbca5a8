// What the stream pump's tests share: state-threads started once, a
// socketpair with small kernel buffers (so a batch blocks), and a pump run in
// a coroutine of its own.
#ifndef PUMP_FIXTURE_H
#define PUMP_FIXTURE_H

#include <gtest/gtest.h>

#include <st.h>
#include <sys/socket.h>

extern "C" {
#include "stream_pump.h"
}

inline void st_once()
{
    static bool inited = false;
    if (!inited) {
        st_set_eventsys(ST_EVENTSYS_POLL);
        ASSERT_EQ(0, st_init());
        inited = true;
    }
}

// Both ends of a socketpair: w's send buffer and r's receive buffer set
// small (0: the kernel's default).
struct Pipe {
    st_netfd_t w = nullptr, r = nullptr;
    explicit Pipe(int sndbuf = 8192, int rcvbuf = 8192)
    {
        int sv[2];
        EXPECT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
        if (sndbuf) setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        if (rcvbuf) setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        w = st_netfd_open_socket(sv[0]);
        r = st_netfd_open_socket(sv[1]);
    }
    ~Pipe()
    {
        if (w) st_netfd_close(w);
        if (r) st_netfd_close(r);
    }
};

struct PumpRun {
    stream_pump_t *p;
    int stop = 0;
    int rc = 0;
    int done = 0;               // stream_pump_run returned (rc is its result)
    st_thread_t t = nullptr;
    static void *main(void *arg)
    {
        PumpRun *r = (PumpRun *)arg;
        r->rc = stream_pump_run(r->p, &r->stop);
        r->done = 1;
        return nullptr;
    }
    void start() { t = st_thread_create(main, this, 1, 0); }
    // Run pp, and let a push wake (or the write pass skip) its coroutine
    // rather than the test body that made the consumer.
    void run_for(stream_pump_t *pp)
    {
        p = pp;
        start();
        pp->co->thread = t;
    }
    void end()
    {
        stop = 1;
        st_thread_interrupt(t);
        st_thread_join(t, nullptr);
    }
};

#endif
