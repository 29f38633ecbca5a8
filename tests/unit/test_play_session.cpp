// The play path shared by RTMP and HTTP-FLV: what it holds across the
// protocol's start (which yields: Play.Start, HTTP headers), what a refusal
// and a probe (HEAD) leave behind, and that the end releases everything.
// The protocol callbacks stand in for the other coroutines that run while a
// real start() is blocked in a write.
#include <gtest/gtest.h>

#include <st.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern "C" {
#include "play_session.h"
#include "rill_error.h"
#include "session_env.h"
#include "rtmp_msg.h"
#include "rtmp_session.h"
}

namespace {

struct Fixture {
    session_env_t env;
    vhost_conf_t vc;
    client_t cl;
    int publisher = 0;          // what source_publish is given as "who"
    int starts = 0, refusals = 0, last_refusal = 0;
    bool probe_started = false;
    bool src_alive_in_start = false;
    Fixture() {
        static bool inited = false;
        if (!inited) {
            st_set_eventsys(ST_EVENTSYS_POLL);
            EXPECT_EQ(0, st_init());
            inited = true;
        }
        memset(&env, 0, sizeof env);
        hub_init(&env.hub);
        http_hooks_init(&env.hooks, &env.hub, &env.clients, env.server_id, env.service_id);
        memset(&vc, 0, sizeof vc);
        vc.name = (char *)"__defaultVhost__";
        vc.enabled = 1;
        vc.gop_cache = 1;
        vc.queue_length = 10;
        memset(&cl, 0, sizeof cl);
        cl.vhost = "__defaultVhost__";
        cl.app = "live";
        cl.stream = "s";
        cl.param = "";
        cl.tc_url = "";
    }
    ~Fixture() { hub_free(&env.hub); }
    source_t *find() { return hub_find(&env.hub, "__defaultVhost__", "live", "s"); }
    source_t *published() {
        source_t *s = hub_acquire(&env.hub, &vc, "__defaultVhost__", "live", "s");
        EXPECT_NE(s, nullptr);
        EXPECT_EQ(0, source_publish(s, &publisher, 7, ""));
        return s;
    }
};

Fixture *g;

// While the player's first write is blocked, the others run: its publisher
// leaves (unpublishes and releases its hold), or another player of the
// stream comes and goes.
int start_while_others_leave(play_session_t *ps, stream_pump_t *p)
{
    g->starts++;
    if (!p) {
        g->probe_started = true;
        return 0;
    }
    source_t *s = g->find();
    EXPECT_EQ(s, ps->src) << "the session's source is not the hub's";
    if (s->publisher) {
        source_unpublish(s);
    } else {
        EXPECT_EQ(s, hub_acquire(&g->env.hub, &g->vc, "__defaultVhost__", "live", "s"));
    }
    hub_release(&g->env.hub, s);
    g->src_alive_in_start = g->find() == ps->src;
    return RILL_ERR_EOF;        // the player went away too: no pump
}

void refuse(play_session_t *ps, int err)
{
    g->refusals++;
    g->last_refusal = err;
    EXPECT_EQ(ps->src, nullptr) << "a refusal must hold nothing";
}

const play_proto_t proto = { refuse, start_while_others_leave, nullptr, nullptr };

play_session_t session(Fixture &f, int own_client)
{
    play_session_t ps;
    memset(&ps, 0, sizeof ps);
    ps.env = &f.env;
    ps.vc = &f.vc;
    ps.client = &f.cl;
    ps.client_type = CLIENT_FLV;
    ps.own_client = own_client;
    ps.need_publisher = 1;
    ps.proto = &proto;
    return ps;
}

TEST(PlaySession, SourceIsHeldBeforeTheFirstYield) {
    Fixture f;
    g = &f;
    f.published();
    play_session_t ps = session(f, 1);
    EXPECT_EQ(RILL_ERR_EOF, play_session_run(&ps));
    EXPECT_EQ(1, f.starts);
    // Held by the session's consumer: the publisher's release could not free it.
    EXPECT_TRUE(f.src_alive_in_start);
    EXPECT_EQ(1, f.env.clients.count) << "an own client is registered while it plays";
    EXPECT_EQ(CLIENT_FLV, f.cl.type);
    play_session_end(&ps);
    EXPECT_EQ(nullptr, f.find()) << "the end releases the source it held";
    EXPECT_EQ(0, f.env.hub.nsources);
    EXPECT_EQ(0, f.env.clients.count);
    play_session_end(&ps);      // twice is harmless
    g = nullptr;
}

TEST(PlaySession, NotPublishedIsRefusedHoldingNothing) {
    Fixture f;
    g = &f;
    play_session_t ps = session(f, 1);
    EXPECT_EQ(RILL_ERR_NOT_FOUND, play_session_run(&ps));
    EXPECT_EQ(1, f.refusals);
    EXPECT_EQ(RILL_ERR_NOT_FOUND, f.last_refusal);
    EXPECT_EQ(0, f.starts);
    EXPECT_EQ(0, f.env.hub.nsources) << "a refused play must not leave a source behind";
    EXPECT_EQ(0, f.env.clients.count);
    EXPECT_STREQ("stream not found", ps.reason);
    play_session_end(&ps);
    g = nullptr;
}

TEST(PlaySession, ProbeAnswersWithoutHoldingOrRegistering) {
    Fixture f;
    g = &f;
    source_t *s = f.published();
    play_session_t ps = session(f, 1);
    ps.probe = 1;
    EXPECT_EQ(0, play_session_run(&ps));
    EXPECT_TRUE(f.probe_started);
    EXPECT_EQ(nullptr, ps.src);
    EXPECT_EQ(0, s->nconsumers);
    EXPECT_EQ(0, f.env.clients.count);
    play_session_end(&ps);
    source_unpublish(s);
    hub_release(&f.env.hub, s);
    g = nullptr;
}

TEST(PlaySession, WaitingForAPublisherHoldsTheSourceItMade) {
    Fixture f;
    g = &f;
    play_session_t ps = session(f, 0);
    ps.need_publisher = 0;      // an RTMP player on an origin waits for its publisher
    EXPECT_EQ(RILL_ERR_EOF, play_session_run(&ps));
    EXPECT_EQ(1, f.starts);
    EXPECT_TRUE(f.src_alive_in_start);
    EXPECT_EQ(0, f.env.clients.count) << "a connection's own client is not the session's to register";
    play_session_end(&ps);
    EXPECT_EQ(0, f.env.hub.nsources);
    g = nullptr;
}

// The player's own messages (RTMP deleteStream) reach the protocol with the
// session, whatever start() set up: the pump has one ctx for its callbacks.
struct MsgCase {
    rtmp_session_t s;
    play_session_t *seen_ps = nullptr;
    int seen_type = 0;
};
MsgCase *mc;

int start_rtmp_pump(play_session_t *ps, stream_pump_t *p)
{
    return stream_pump_init_rtmp(p, &mc->s, ps->consumer, 0, 0, 1);
}

int got_msg(play_session_t *ps, stream_pump_t *p, rtmp_msg_t *m)
{
    mc->seen_ps = ps;
    mc->seen_type = m->type;
    ps->reason = "player stopped";
    return 1;
}

TEST(PlaySession, PlayerMessagesReachTheProtocolWithTheSession) {
    Fixture f;
    g = &f;
    MsgCase c;
    mc = &c;
    int sv[2];
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    st_netfd_t nfd = st_netfd_open_socket(sv[0]);
    ASSERT_NE(nullptr, nfd);
    ASSERT_EQ(0, rtmp_session_init(&c.s, nfd));
    // One AMF0 command on chunk stream 3, message stream 1: "deleteStream", 0, null, 1
    const uint8_t amf[] = { 0x02, 0x00, 0x0c, 'd', 'e', 'l', 'e', 't', 'e', 'S', 't', 'r', 'e', 'a', 'm',
                            0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
    uint8_t chunk[12 + sizeof amf] = { 0x03, 0, 0, 0, 0, 0, (uint8_t)sizeof amf, RTMP_MSG_AMF0_COMMAND, 1, 0, 0, 0 };
    memcpy(chunk + 12, amf, sizeof amf);
    ASSERT_EQ((ssize_t)sizeof chunk, write(sv[1], chunk, sizeof chunk));

    static const play_proto_t rtmp_like = { nullptr, start_rtmp_pump, nullptr, nullptr, got_msg };
    play_session_t ps = session(f, 0);
    ps.need_publisher = 0;
    ps.proto = &rtmp_like;
    ps.ctx = &c;
    EXPECT_EQ(0, play_session_run(&ps));
    EXPECT_EQ(&ps, c.seen_ps) << "on_msg must get the session (its ctx is the protocol's)";
    EXPECT_EQ(RTMP_MSG_AMF0_COMMAND, c.seen_type);
    EXPECT_STREQ("player stopped", ps.reason);
    play_session_end(&ps);
    EXPECT_EQ(0, f.env.hub.nsources);
    rtmp_session_free(&c.s);
    close(sv[1]);
    mc = nullptr;
    g = nullptr;
}

}  // namespace
