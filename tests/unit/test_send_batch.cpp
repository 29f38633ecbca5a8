// Sends to many sockets handed to the kernel together (send_batch): every
// send comes back once, in the order queued, with what the socket took
// (all, part, nothing, an error), through io_uring and through the one
// send() at a time it falls back to; a full batch goes out on its own.
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

extern "C" {
#include "send_batch.h"
}

namespace {

struct Pair {
    int w = -1, r = -1;
    Pair(int sndbuf = 0)
    {
        int sv[2];
        EXPECT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
        w = sv[0];
        r = sv[1];
        if (sndbuf) setsockopt(w, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        fcntl(r, F_SETFL, O_NONBLOCK);
    }
    ~Pair()
    {
        if (w >= 0) close(w);
        if (r >= 0) close(r);
    }
    std::string read_all() const
    {
        std::string s;
        char b[65536];
        ssize_t n;
        while ((n = read(r, b, sizeof b)) > 0) s.append(b, (size_t)n);
        return s;
    }
};

struct Done {
    int who;
    ssize_t res;
};
std::vector<Done> g_done;

void record(void *ctx, ssize_t res)
{
    g_done.push_back({ (int)(intptr_t)ctx, res });
}

class SendBatch : public ::testing::TestWithParam<bool> {
protected:
    send_batch_t b = {};
    void SetUp() override
    {
        if (GetParam() && !send_batch_uring_allowed())
            GTEST_SKIP() << "io_uring is not allowed here (kernel.io_uring_disabled, seccomp): the fallback runs instead";
        // 600 socket pairs need 1200 fds: more than a default soft limit of 1024
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        b.no_uring = GetParam() ? 0 : 1;
        g_done.clear();
    }
    void TearDown() override { send_batch_free(&b); }
    void expect_mode()
    {
        EXPECT_EQ(GetParam(), send_batch_uring(&b) != 0)
            << (GetParam() ? "io_uring was allowed but not set up" : "io_uring used when told not to");
    }
};

}  // namespace

// More sockets than a batch holds: the full batch goes out by itself when
// the next send is queued, the rest at the flush; each reader gets its own
// bytes, and each send is reported once, in order.
TEST_P(SendBatch, ManySocketsEachGetTheirBytesOnce)
{
    const int n = SEND_BATCH_DEPTH + 88;
    std::vector<Pair> pairs(n);
    std::vector<std::string> msg(n);
    for (int i = 0; i < n; i++) {
        msg[i] = "message " + std::to_string(i) + std::string((size_t)(i % 300), 'x');
        send_batch_add(&b, pairs[i].w, msg[i].data(), msg[i].size(), (void *)(intptr_t)i, record);
    }
    EXPECT_EQ((size_t)SEND_BATCH_DEPTH, g_done.size()) << "a full batch was not sent when the next came";
    send_batch_flush(&b);
    expect_mode();
    ASSERT_EQ((size_t)n, g_done.size());
    for (int i = 0; i < n; i++) {
        EXPECT_EQ(i, g_done[i].who);
        EXPECT_EQ((ssize_t)msg[i].size(), g_done[i].res) << "send " << i;
        EXPECT_EQ(msg[i], pairs[i].read_all()) << "socket " << i;
    }
    if (GetParam()) EXPECT_EQ(2u, b.enters) << "one io_uring_enter per batch";
    send_batch_flush(&b);
    EXPECT_EQ((size_t)n, g_done.size()) << "an empty flush reported sends";
}

// What the socket took comes back as it is: part of a send to a nearly full
// socket, -EAGAIN from a full one, -EPIPE from one whose reader closed (and
// no SIGPIPE), -EBADF for a closed fd; none of them stops the sends queued
// after it.
TEST_P(SendBatch, PartialFullClosedAndBadSocketsAreReportedAndDoNotStopTheRest)
{
    Pair part(4096), full(4096), gone, ok;
    std::string big(1 << 20, 'b');
    // fill `full` to the brim
    while (send(full.w, big.data(), big.size(), MSG_DONTWAIT) > 0) {
    }
    close(gone.r);
    gone.r = -1;
    const int bad = 1 << 20;    // no such fd (a freed number could be reused, by the ring itself)
    std::string hello = "hello";
    send_batch_add(&b, part.w, big.data(), big.size(), (void *)0, record);
    send_batch_add(&b, full.w, hello.data(), hello.size(), (void *)1, record);
    send_batch_add(&b, gone.w, hello.data(), hello.size(), (void *)2, record);
    send_batch_add(&b, bad, hello.data(), hello.size(), (void *)3, record);
    send_batch_add(&b, ok.w, hello.data(), hello.size(), (void *)4, record);
    send_batch_flush(&b);
    expect_mode();
    ASSERT_EQ(5u, g_done.size());
    EXPECT_GT(g_done[0].res, 0);
    EXPECT_LT(g_done[0].res, (ssize_t)big.size()) << "a 1 MB send into a 4 KB socket was taken whole";
    EXPECT_EQ(-EAGAIN, g_done[1].res);
    EXPECT_EQ(-EPIPE, g_done[2].res);
    EXPECT_EQ(-EBADF, g_done[3].res);
    EXPECT_EQ(5, g_done[4].res);
    EXPECT_EQ(hello, ok.read_all());
    EXPECT_EQ((size_t)g_done[0].res, part.read_all().size());
}

INSTANTIATE_TEST_SUITE_P(Ways, SendBatch, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool> &i) { return i.param ? "IoUring" : "OneByOne"; });
