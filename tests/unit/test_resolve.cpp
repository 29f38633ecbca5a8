// resolve (app/net/resolve.c): names to addresses through c-ares driven by st_poll, against
// a DNS server made here (a coroutine on 127.0.0.1 that answers A queries
// from a table, NXDOMAIN otherwise, or nothing at all); and the config
// directives around it: resolver, resolver_timeout, host names in origin,
// destination and hook URLs.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <st.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "http_url.h"
#include "config.h"
#include "rill_error.h"
#include "resolve.h"

namespace {

void st_once()
{
    static bool inited = false;
    if (!inited) {
        st_set_eventsys(ST_EVENTSYS_POLL);
        ASSERT_EQ(0, st_init());
        inited = true;
    }
}

// A one-socket DNS server on 127.0.0.1 in a coroutine of its own.
struct Dns {
    st_netfd_t fd = nullptr;
    st_thread_t th = nullptr;
    int port = 0;
    bool silent = false;                                // never answer
    st_utime_t delay_us = 0;                            // before each answer
    unsigned char ttl = 5;                              // s, of every answer
    bool stop = false;
    int queries = 0;
    std::map<std::string, std::vector<std::string>> names;

    Dns() {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a = {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(0, bind(s, (sockaddr *)&a, sizeof a));
        socklen_t l = sizeof a;
        getsockname(s, (sockaddr *)&a, &l);
        port = ntohs(a.sin_port);
        fd = st_netfd_open_socket(s);
        th = st_thread_create(run, this, 1, 0);
    }
    ~Dns() {
        stop = true;
        st_thread_interrupt(th);
        st_thread_join(th, nullptr);
        st_netfd_close(fd);
    }
    std::string servers() const { return "127.0.0.1:" + std::to_string(port); }

    static void *run(void *arg) {
        Dns *d = static_cast<Dns *>(arg);
        while (!d->stop) {
            unsigned char q[512];
            sockaddr_in from = {};
            int fl = sizeof from;
            int n = st_recvfrom(d->fd, q, sizeof q, (sockaddr *)&from, &fl, ST_UTIME_NO_TIMEOUT);
            if (n < 12) continue;
            d->queries++;
            if (d->silent) continue;
            // the question: labels up to the root, then type and class
            size_t i = 12;
            std::string name;
            while (i < (size_t)n && q[i]) {
                if (!name.empty()) name += '.';
                name.append((const char *)q + i + 1, q[i]);
                i += 1 + q[i];
            }
            size_t qend = i + 5;
            if (qend > (size_t)n) continue;
            auto it = d->names.find(name);
            std::vector<unsigned char> r(q, q + qend);
            r[2] = 0x81;                                   // QR, RD
            r[3] = it == d->names.end() ? 0x83 : 0x80;     // RA, NXDOMAIN or no error
            r[6] = 0; r[7] = 0; r[8] = 0; r[9] = 0; r[10] = 0; r[11] = 0;
            if (it != d->names.end()) {
                r[7] = (unsigned char)it->second.size();
                for (const std::string &ip : it->second) {
                    unsigned char rr[16] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, d->ttl, 0, 4 };
                    inet_pton(AF_INET, ip.c_str(), rr + 12);
                    r.insert(r.end(), rr, rr + 16);
                }
            }
            if (d->delay_us && st_usleep(d->delay_us) != 0) continue;   // interrupted: stopping
            st_sendto(d->fd, r.data(), (int)r.size(), (sockaddr *)&from, fl, ST_UTIME_NO_TIMEOUT);
        }
        return nullptr;
    }
};

struct Ticker {             // a coroutine that must keep running while a lookup waits
    st_thread_t th = nullptr;
    int ticks = 0;
    bool stop = false;
    Ticker() { th = st_thread_create(run, this, 1, 0); }
    ~Ticker() {
        stop = true;
        st_thread_join(th, nullptr);
    }
    static void *run(void *arg) {
        Ticker *t = static_cast<Ticker *>(arg);
        while (!t->stop) {
            st_usleep(10 * 1000);
            t->ticks++;
        }
        return nullptr;
    }
};

const st_utime_t kLong = 5 * 1000 * 1000;

}  // namespace

TEST(Resolve, NumericAddressNeedsNoLookup)
{
    st_once();
    ASSERT_EQ(0, resolve_configure("127.0.0.1:1", 300, RESOLVE_VALID_TTL));   // nothing listens: a lookup would fail
    resolve_addrs_t a;
    ASSERT_EQ(0, resolve_host("127.0.0.7", kLong, &a));
    ASSERT_EQ(1, a.n);
    EXPECT_STREQ("127.0.0.7", a.ip[0]);
}

TEST(Resolve, LocalhostFromTheHostsFileBeforeAnyServer)
{
    st_once();
    Dns dns;
    dns.silent = true;
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, RESOLVE_VALID_TTL));
    resolve_addrs_t a;
    st_utime_t t0 = st_utime();
    ASSERT_EQ(0, resolve_host("localhost", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.1", a.ip[0]);
    EXPECT_EQ(0, dns.queries) << "/etc/hosts answers first";
    EXPECT_LT(st_utime() - t0, 1000 * 1000u);
}

TEST(Resolve, NamesFromTheConfiguredServerInAnswerOrder)
{
    st_once();
    Dns dns;
    dns.names["origin.rill.test"] = { "127.0.0.31" };
    dns.names["two.rill.test"] = { "127.0.0.41", "127.0.0.42", "127.0.0.41" };
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, RESOLVE_VALID_TTL));
    resolve_addrs_t a;
    ASSERT_EQ(0, resolve_host("origin.rill.test", kLong, &a)) << a.why;
    ASSERT_EQ(1, a.n);
    EXPECT_STREQ("127.0.0.31", a.ip[0]);
    ASSERT_EQ(0, resolve_host("two.rill.test", kLong, &a)) << a.why;
    ASSERT_EQ(2, a.n) << "duplicates dropped";
    EXPECT_STREQ("127.0.0.41", a.ip[0]);
    EXPECT_STREQ("127.0.0.42", a.ip[1]);
}

TEST(Resolve, AnAnswerIsKeptForItsTtl)
{
    st_once();
    Dns dns;
    dns.names["kept.rill.test"] = { "127.0.0.31" };
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, RESOLVE_VALID_TTL));
    resolve_addrs_t a;
    ASSERT_EQ(0, resolve_host("kept.rill.test", kLong, &a)) << a.why;
    int asked = dns.queries;
    // TTL 5 s: the changed answer is not asked for yet
    dns.names["kept.rill.test"] = { "127.0.0.32" };
    ASSERT_EQ(0, resolve_host("KEPT.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.31", a.ip[0]);
    EXPECT_EQ(asked, dns.queries) << "answered from what was kept";
    // TTL 0: asked each time, a change is seen at once
    dns.ttl = 0;
    dns.names["zero.rill.test"] = { "127.0.0.33" };
    ASSERT_EQ(0, resolve_host("zero.rill.test", kLong, &a)) << a.why;
    dns.names["zero.rill.test"] = { "127.0.0.34" };
    ASSERT_EQ(0, resolve_host("zero.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.34", a.ip[0]);
    // a failure is not kept
    dns.names.erase("zero.rill.test");
    EXPECT_EQ(RILL_ERR_RESOLVE, resolve_host("zero.rill.test", kLong, &a));
    dns.names["zero.rill.test"] = { "127.0.0.35" };
    ASSERT_EQ(0, resolve_host("zero.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.35", a.ip[0]);
}

TEST(Resolve, AnAnswerToALookupBegunBeforeAForgetIsNotKept)
{
    st_once();
    Dns dns;
    dns.delay_us = 200 * 1000;
    dns.names["late.rill.test"] = { "127.0.0.36" };
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, RESOLVE_VALID_TTL));
    // while the lookup waits, a reload with other resolver settings forgets every answer
    st_thread_t forget = st_thread_create(
        [](void *) -> void * {
            st_usleep(50 * 1000);
            resolve_forget();
            return nullptr;
        },
        nullptr, 1, 0);
    resolve_addrs_t a;
    ASSERT_EQ(0, resolve_host("late.rill.test", kLong, &a)) << a.why;
    st_thread_join(forget, nullptr);
    EXPECT_STREQ("127.0.0.36", a.ip[0]);
    int asked = dns.queries;
    dns.delay_us = 0;
    ASSERT_EQ(0, resolve_host("late.rill.test", kLong, &a)) << a.why;
    EXPECT_GT(dns.queries, asked) << "the answer got under the old settings was kept";
}

TEST(Resolve, ValidOverridesTheTtl)
{
    st_once();
    Dns dns;
    dns.names["v.rill.test"] = { "127.0.0.31" };
    // valid=0: nothing kept, whatever the TTL
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, 0));
    resolve_addrs_t a;
    ASSERT_EQ(0, resolve_host("v.rill.test", kLong, &a)) << a.why;
    dns.names["v.rill.test"] = { "127.0.0.32" };
    ASSERT_EQ(0, resolve_host("v.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.32", a.ip[0]);
    // valid=200ms over TTL 0: kept 200 ms
    dns.ttl = 0;
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, 200));
    ASSERT_EQ(0, resolve_host("v.rill.test", kLong, &a)) << a.why;
    dns.names["v.rill.test"] = { "127.0.0.33" };
    ASSERT_EQ(0, resolve_host("v.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.32", a.ip[0]);
    st_usleep(250 * 1000);
    ASSERT_EQ(0, resolve_host("v.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.33", a.ip[0]);
    // another setting forgets what was kept
    dns.names["v.rill.test"] = { "127.0.0.34" };
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, 300));
    ASSERT_EQ(0, resolve_host("v.rill.test", kLong, &a)) << a.why;
    EXPECT_STREQ("127.0.0.34", a.ip[0]);
}

TEST(Resolve, UnknownNameFailsFastWithTheReason)
{
    st_once();
    Dns dns;
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 2000, RESOLVE_VALID_TTL));
    resolve_addrs_t a;
    st_utime_t t0 = st_utime();
    EXPECT_EQ(RILL_ERR_RESOLVE, resolve_host("nonexistent.invalid", kLong, &a));
    EXPECT_LT(st_utime() - t0, 500 * 1000u);
    EXPECT_EQ(0, a.n);
    EXPECT_NE(nullptr, strstr(a.why, "not found")) << a.why;
    // c-ares 1.18 asks the server about .invalid like any name (no RFC 6761
    // shortcut): tests must point it at a server of their own
    EXPECT_GE(dns.queries, 1);
    EXPECT_EQ(RILL_ERR_RESOLVE, resolve_host("", kLong, &a));
}

TEST(Resolve, ASilentServerIsATimeoutThatBlocksNoOtherCoroutine)
{
    st_once();
    Dns dns;
    dns.silent = true;
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 300, RESOLVE_VALID_TTL));
    Ticker tick;
    resolve_addrs_t a;
    st_utime_t t0 = st_utime();
    EXPECT_EQ(RILL_ERR_TIMEOUT, resolve_host("slow.rill.test", kLong, &a));
    st_utime_t took = st_utime() - t0;
    EXPECT_GE(took, 250 * 1000u);
    EXPECT_LT(took, 1500 * 1000u) << "resolver_timeout 300 ms";
    EXPECT_GE(dns.queries, 1);
    EXPECT_GE(tick.ticks, 10) << "the other coroutine ran while the lookup waited";
    // the caller's own deadline bounds it too
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 5000, RESOLVE_VALID_TTL));
    t0 = st_utime();
    EXPECT_EQ(RILL_ERR_TIMEOUT, resolve_host("slow.rill.test", 200 * 1000, &a));
    EXPECT_LT(st_utime() - t0, 1000 * 1000u);
}

TEST(Resolve, AServerThatRefusesFailsFast)
{
    st_once();
    int port;
    {
        Dns gone;               // a port that was just free: nothing listens there now
        port = gone.port;
    }
    ASSERT_EQ(0, resolve_configure(("127.0.0.1:" + std::to_string(port)).c_str(), 3000, RESOLVE_VALID_TTL));
    resolve_addrs_t a;
    st_utime_t t0 = st_utime();
    int rc = resolve_host("refused.rill.test", kLong, &a);
    EXPECT_TRUE(rc == RILL_ERR_RESOLVE || rc == RILL_ERR_TIMEOUT) << rc;
    EXPECT_LT(st_utime() - t0, 3500 * 1000u);
}

namespace {
struct Interrupted {
    int rc = 1;
    static void *run(void *arg) {
        resolve_addrs_t a;
        static_cast<Interrupted *>(arg)->rc = resolve_host("slow.rill.test", kLong, &a);
        return nullptr;
    }
};
}  // namespace

TEST(Resolve, AnInterruptEndsTheLookup)
{
    st_once();
    Dns dns;
    dns.silent = true;
    ASSERT_EQ(0, resolve_configure(dns.servers().c_str(), 5000, RESOLVE_VALID_TTL));
    Interrupted x;
    st_thread_t th = st_thread_create(Interrupted::run, &x, 1, 0);
    st_usleep(50 * 1000);
    st_utime_t t0 = st_utime();
    st_thread_interrupt(th);
    st_thread_join(th, nullptr);
    EXPECT_EQ(RILL_ERR_INTERRUPTED, x.rc);
    EXPECT_LT(st_utime() - t0, 500 * 1000u);
}

TEST(Resolve, ConfigureRefusesBadValues)
{
    EXPECT_EQ(RILL_ERR_INVAL, resolve_configure("127.0.0.1", 0, RESOLVE_VALID_TTL));
    EXPECT_EQ(RILL_ERR_INVAL, resolve_configure("127.0.0.1", 100, -2));
    EXPECT_EQ(RILL_ERR_INVAL, resolve_configure(std::string(600, '1').c_str(), 100, RESOLVE_VALID_TTL));
    EXPECT_EQ(0, resolve_configure(nullptr, RESOLVE_TIMEOUT_MS, RESOLVE_VALID_TTL));
}

// ---- config --------------------------------------------------------------

namespace {
std::string load_err(const std::string &text)
{
    config_t *c = nullptr;
    char err[512] = "";
    int rc = config_load_string(text.c_str(), "t.conf", &c, err, sizeof err);
    config_free(c);
    return rc ? std::string(err) : std::string("loaded");
}
}  // namespace

TEST(ResolveConf, Defaults)
{
    config_t *c = nullptr;
    char err[512] = "";
    ASSERT_EQ(0, config_load_string("listen 1935;\n", "t.conf", &c, err, sizeof err)) << err;
    EXPECT_EQ(nullptr, c->resolver) << "none: /etc/resolv.conf's servers";
    EXPECT_EQ(2000, c->resolver_timeout);
    EXPECT_EQ(RESOLVE_TIMEOUT_MS, c->resolver_timeout);
    EXPECT_EQ(RESOLVE_VALID_TTL, c->resolver_valid) << "nginx's: an answer is kept for its TTL";
    config_free(c);
}

TEST(ResolveConf, GoodValues)
{
    config_t *c = nullptr;
    char err[512] = "";
    ASSERT_EQ(0, config_load_string(
        "resolver 127.0.0.1:5353 127.0.0.2;\nresolver_timeout 500;\n"
        "vhost __defaultVhost__ {\n"
        "  cluster { mode remote; origin origin1.example:1935 localhost:19350 127.0.0.1 o_2.example; "
        "publish_origin master.example; }\n"
        "  forward { enabled on; destination slave1.example:1936 127.0.0.12; }\n"
        "  http_hooks { enabled on; on_publish http://hooks.example:8085/api/v1/streams; }\n"
        "}\n", "t.conf", &c, err, sizeof err)) << err;
    EXPECT_STREQ("127.0.0.1:5353,127.0.0.2:53", c->resolver);
    EXPECT_EQ(500, c->resolver_timeout);
    EXPECT_EQ(RESOLVE_VALID_TTL, c->resolver_valid);
    const vhost_conf_t *v = &c->vhosts[0];
    ASSERT_EQ(4, v->norigins);
    EXPECT_STREQ("origin1.example", v->origins[0].host);
    EXPECT_EQ(1935, v->origins[0].port);
    EXPECT_STREQ("localhost", v->origins[1].host);
    EXPECT_EQ(19350, v->origins[1].port);
    EXPECT_STREQ("127.0.0.1", v->origins[2].host);
    EXPECT_STREQ("o_2.example", v->origins[3].host);
    EXPECT_EQ(1935, v->origins[3].port);
    ASSERT_EQ(1, v->npublish_origins);
    EXPECT_STREQ("master.example", v->publish_origins[0].host);
    ASSERT_EQ(2, v->nforward_dests);
    EXPECT_STREQ("slave1.example", v->forward_dests[0].host);
    EXPECT_EQ(1936, v->forward_dests[0].port);
    config_free(c);
}

TEST(ResolveConf, ValidTakesAnNginxTime)
{
    const struct { const char *arg; int ms; } good[] = {
        { "valid=30s", 30000 }, { "valid=30", 30000 }, { "valid=500ms", 500 }, { "valid=5m", 300000 },
        { "valid=1h", 3600000 }, { "valid=1d", 86400000 }, { "valid=0", 0 },
    };
    for (const auto &g : good) {
        config_t *c = nullptr;
        char err[512] = "";
        std::string text = std::string("resolver 127.0.0.1 127.0.0.2:5353 ") + g.arg + ";\n";
        ASSERT_EQ(0, config_load_string(text.c_str(), "t.conf", &c, err, sizeof err)) << err;
        EXPECT_EQ(g.ms, c->resolver_valid) << g.arg;
        EXPECT_STREQ("127.0.0.1:53,127.0.0.2:5353", c->resolver) << g.arg;
        config_free(c);
    }
}

TEST(ResolveConf, BadValuesNameTheLine)
{
    EXPECT_EQ("t.conf:2: resolver 'dns.example' is not an IPv4 address with an optional port",
              load_err("listen 1935;\nresolver dns.example;\n"));
    EXPECT_EQ("t.conf:1: resolver '127.0.0.1:0' is not an IPv4 address with an optional port",
              load_err("resolver 127.0.0.1:0;\n"));
    EXPECT_EQ("t.conf:1: directive 'resolver' needs at least 1 ip[:port]", load_err("resolver;\n"));
    EXPECT_EQ("t.conf:1: directive 'resolver' needs at least 1 ip[:port]", load_err("resolver valid=30s;\n"));
    EXPECT_EQ("t.conf:2: resolver 'valid=abc' is not a time (digits, then ms, s, m, h or d)",
              load_err("listen 1935;\nresolver 127.0.0.1 valid=abc;\n"));
    EXPECT_EQ("t.conf:1: resolver 'valid=10x' is not a time (digits, then ms, s, m, h or d)",
              load_err("resolver 127.0.0.1 valid=10x;\n"));
    EXPECT_EQ("t.conf:1: resolver 'valid=' is not a time (digits, then ms, s, m, h or d)",
              load_err("resolver 127.0.0.1 valid=;\n"));
    EXPECT_EQ("t.conf:1: resolver 'valid=2d' is out of range 0..1d", load_err("resolver 127.0.0.1 valid=2d;\n"));
    EXPECT_EQ("t.conf:1: resolver 'valid=30s' is not an IPv4 address with an optional port",
              load_err("resolver valid=30s 127.0.0.1;\n"));
    EXPECT_EQ(0u, load_err("resolver_timeout 0;\n").find("t.conf:1: resolver_timeout")) << load_err("resolver_timeout 0;\n");
    EXPECT_EQ(0u, load_err("resolver_timeout 1s;\n").find("t.conf:1: resolver_timeout")) << load_err("resolver_timeout 1s;\n");
    EXPECT_EQ("t.conf:1: origin 'bad!host:1935': the host is neither an IPv4 address nor a host name",
              load_err("vhost v { cluster { mode remote; origin bad!host:1935; } }\n"));
    EXPECT_EQ("t.conf:1: destination '-a.example': the host is neither an IPv4 address nor a host name",
              load_err("vhost v { forward { enabled on; destination -a.example; } }\n"));
    EXPECT_EQ(0u, load_err("vhost v { http_hooks { on_play http://a..b/x; } }\n").find("t.conf:1: on_play"));
}

TEST(ResolveConf, HostNameForm)
{
    EXPECT_TRUE(host_name_valid("origin1.example"));
    EXPECT_TRUE(host_name_valid("localhost"));
    EXPECT_TRUE(host_name_valid("a-b.c_d.example"));
    EXPECT_FALSE(host_name_valid(""));
    EXPECT_FALSE(host_name_valid("a..b"));
    EXPECT_FALSE(host_name_valid("-a.example"));
    EXPECT_FALSE(host_name_valid("a-.example"));
    EXPECT_FALSE(host_name_valid("a.example."));
    EXPECT_FALSE(host_name_valid("bad!host"));
    EXPECT_FALSE(host_name_valid(std::string(64, 'a').c_str()));
    EXPECT_TRUE(host_name_valid(std::string(63, 'a').c_str()));
}
