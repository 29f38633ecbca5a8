// Config parser (directive tree) and config model (typed values, defaults,
// validation) tests.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "conf_parser.h"
#include "config.h"
#include "rill_error.h"
#include "rill_log.h"
}

namespace {

// A scratch directory under /tmp, removed with its files.
struct TmpDir {
    std::string path;
    std::vector<std::string> files;
    TmpDir() {
        char tmpl[] = "/tmp/rill-conf-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TmpDir() {
        for (auto it = files.rbegin(); it != files.rend(); ++it) {
            if (unlink(it->c_str()) != 0) rmdir(it->c_str());
        }
        rmdir(path.c_str());
    }
    std::string mkdir_(const std::string &rel) {
        std::string p = path + "/" + rel;
        ::mkdir(p.c_str(), 0755);
        files.push_back(p);
        return p;
    }
    std::string write(const std::string &rel, const std::string &text) {
        std::string p = path + "/" + rel;
        std::ofstream f(p, std::ios::binary);
        f << text;
        files.push_back(p);
        return p;
    }
};

// Routes rill's log into a temp file so tests can read the warnings.
struct LogCapture {
    std::string path;
    int old_level;
    LogCapture() {
        char tmpl[] = "/tmp/rill-conf-log-XXXXXX";
        int fd = mkstemp(tmpl);
        close(fd);
        path = tmpl;
        old_level = rill_log_get_level();
        rill_log_set_level(RILL_LOG_TRACE);
        rill_log_open_file(path.c_str());
    }
    ~LogCapture() {
        rill_log_close();
        rill_log_set_level(old_level);
        unlink(path.c_str());
    }
    std::string text() const {
        std::ifstream f(path);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
};

int count_of(const std::string &s, const std::string &what) {
    int n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
    return n;
}

// Parse text as "t.conf"; returns the error text ("" on success).
std::string parse_err(const std::string &text) {
    conf_directive_t *root = nullptr;
    char err[512] = "";
    int rc = conf_parse_string(text.c_str(), "t.conf", &root, err, sizeof err);
    if (rc == 0) {
        conf_free(root);
        return "";
    }
    EXPECT_EQ(RILL_ERR_CONF, rc);
    EXPECT_EQ(nullptr, root);
    return err;
}

// Load a config from text as "t.conf"; returns the error text ("" on success).
std::string load_err(const std::string &text) {
    config_t *c = nullptr;
    char err[512] = "";
    int rc = config_load_string(text.c_str(), "t.conf", &c, err, sizeof err);
    if (rc == 0) {
        config_free(c);
        return "";
    }
    EXPECT_EQ(RILL_ERR_CONF, rc);
    EXPECT_EQ(nullptr, c);
    return err;
}

struct Conf {
    config_t *c = nullptr;
    explicit Conf(const std::string &text) {
        char err[512] = "";
        int rc = config_load_string(text.c_str(), "t.conf", &c, err, sizeof err);
        EXPECT_EQ(0, rc) << err;
    }
    ~Conf() { config_free(c); }
    const vhost_conf_t *vhost(const char *name) const {
        for (int i = 0; c && i < c->nvhosts; i++)
            if (std::string(c->vhosts[i].name) == name) return &c->vhosts[i];
        return nullptr;
    }
    const vhost_conf_t *def() const { return vhost("__defaultVhost__"); }
};

}  // namespace

// ---- parser -------------------------------------------------------------

TEST(ConfParser, GoodFileWithCommentsQuotesAndNestedBlocks) {
    const char *text =
        "# a comment line\n"
        "listen 1935 19350;   # trailing comment\n"
        "pid \"./objs/my pid\";\n"
        "vhost example.com {\n"
        "    play {\n"
        "        gop_cache off;\n"
        "    }\n"
        "    http_remux { mount [vhost]/[app]/[stream].flv; }\n"
        "    note 'it\\'s' \"q\\\"uote\" \"back\\\\slash\" \"nl\\n\" \"odd\\d\" '#hash' a#b \"\";\n"
        "}\n"
        "empty {}\n";
    conf_directive_t *root = nullptr;
    char err[256] = "";
    ASSERT_EQ(0, conf_parse_string(text, "t.conf", &root, err, sizeof err)) << err;
    ASSERT_EQ(4, root->nchildren);

    conf_directive_t *listen = conf_get(root, "listen");
    ASSERT_NE(nullptr, listen);
    EXPECT_EQ(2, listen->line);
    EXPECT_STREQ("t.conf", listen->file);
    ASSERT_EQ(2, listen->nargs);
    EXPECT_STREQ("1935", conf_arg0(listen));
    EXPECT_STREQ("19350", listen->args[1]);
    EXPECT_FALSE(listen->has_block);

    EXPECT_STREQ("./objs/my pid", conf_arg0(conf_get(root, "pid")));

    conf_directive_t *vh = conf_get(root, "vhost");
    ASSERT_NE(nullptr, vh);
    EXPECT_TRUE(vh->has_block);
    EXPECT_EQ(4, vh->line);
    EXPECT_STREQ("example.com", conf_arg0(vh));
    ASSERT_EQ(3, vh->nchildren);
    conf_directive_t *gop = conf_get(conf_get(vh, "play"), "gop_cache");
    ASSERT_NE(nullptr, gop);
    EXPECT_EQ(6, gop->line);
    EXPECT_STREQ("off", conf_arg0(gop));
    EXPECT_STREQ("[vhost]/[app]/[stream].flv", conf_arg0(conf_get(conf_get(vh, "http_remux"), "mount")));

    conf_directive_t *note = conf_get(vh, "note");
    ASSERT_NE(nullptr, note);
    ASSERT_EQ(8, note->nargs);
    EXPECT_STREQ("it's", note->args[0]);
    EXPECT_STREQ("q\"uote", note->args[1]);
    EXPECT_STREQ("back\\slash", note->args[2]);
    EXPECT_STREQ("nl\n", note->args[3]);
    EXPECT_STREQ("odd\\d", note->args[4]);  // unknown escapes stay literal
    EXPECT_STREQ("#hash", note->args[5]);
    EXPECT_STREQ("a#b", note->args[6]);     // '#' inside a word is not a comment
    EXPECT_STREQ("", note->args[7]);

    conf_directive_t *empty = conf_get(root, "empty");
    ASSERT_NE(nullptr, empty);
    EXPECT_TRUE(empty->has_block);
    EXPECT_EQ(0, empty->nchildren);
    EXPECT_EQ(0, empty->nargs);

    EXPECT_EQ(nullptr, conf_get(root, "nope"));
    EXPECT_EQ(nullptr, conf_arg0(empty));
    EXPECT_EQ(nullptr, conf_arg0(nullptr));
    conf_free(root);
}

TEST(ConfParser, UnquotedArgsEndAtDelimiters) {
    conf_directive_t *root = nullptr;
    char err[256] = "";
    ASSERT_EQ(0, conf_parse_string("a b;c d;e{f g;}h\ti\r\nj;", "t.conf", &root, err, sizeof err)) << err;
    ASSERT_EQ(4, root->nchildren);
    EXPECT_STREQ("a", root->children[0]->name);
    EXPECT_STREQ("b", conf_arg0(root->children[0]));
    EXPECT_STREQ("c", root->children[1]->name);
    EXPECT_STREQ("e", root->children[2]->name);
    EXPECT_TRUE(root->children[2]->has_block);
    EXPECT_STREQ("g", conf_arg0(conf_get(root->children[2], "f")));
    EXPECT_STREQ("h", root->children[3]->name);
    ASSERT_EQ(2, root->children[3]->nargs);
    EXPECT_STREQ("j", root->children[3]->args[1]);
    conf_free(root);
}

TEST(ConfParser, LineNumbersAfterMultiLineQuotes) {
    conf_directive_t *root = nullptr;
    char err[256] = "";
    ASSERT_EQ(0, conf_parse_string("a \"x\ny\nz\";\n\n# c\nb 1;\n", "t.conf", &root, err, sizeof err)) << err;
    EXPECT_EQ(1, conf_get(root, "a")->line);
    EXPECT_STREQ("x\ny\nz", conf_arg0(conf_get(root, "a")));
    EXPECT_EQ(6, conf_get(root, "b")->line);
    conf_free(root);
}

TEST(ConfParser, EmptyAndCommentOnlyTexts) {
    EXPECT_EQ("", parse_err(""));
    EXPECT_EQ("", parse_err("# only\n  # comments\n\n"));
    EXPECT_EQ("", parse_err("# no newline at the end"));
}

TEST(ConfParser, ErrorsCarryExactLine) {
    EXPECT_EQ("t.conf:3: missing ';' after directive 'enabled' (before '}')",
              parse_err("vhost a {\n    chunk_size 128;\n    enabled on\n}\n"));
    EXPECT_EQ("t.conf:2: missing ';' after directive 'listen' (before end of file)",
              parse_err("daemon off;\nlisten 1935\n\n"));
    EXPECT_EQ("t.conf:2: missing ';' after directive 'listen' (before end of file)",
              parse_err("# x\nlisten"));
    EXPECT_EQ("t.conf:5: unexpected end of file, missing '}' for 'vhost' opened at line 1",
              parse_err("vhost a {\n  play {\n  }\n\n"));
    EXPECT_EQ("t.conf:4: unexpected end of file, missing '}' for 'play' opened at line 2",
              parse_err("vhost a {\n  play {\n  gop_cache on;\n"));
    EXPECT_EQ("t.conf:3: unexpected '}'", parse_err("a 1;\nb 2;\n}\n"));
    EXPECT_EQ("t.conf:4: unexpected '}'", parse_err("v {\n a 1;\n}\n}\n"));
    EXPECT_EQ("t.conf:2: unterminated quote", parse_err("a 1;\npid \"abc;\nb 2;\n"));
    EXPECT_EQ("t.conf:1: unterminated quote", parse_err("pid 'abc\\'"));
    EXPECT_EQ("t.conf:2: empty directive name", parse_err("a 1;\n;\n"));
    EXPECT_EQ("t.conf:3: empty directive name", parse_err("a 1;\n\n\"\" x;\n"));
    EXPECT_EQ("t.conf:1: empty directive name", parse_err("{ a 1; }"));
}

TEST(ConfParser, NulByteIsRefused) {
    TmpDir d;
    std::string p = d.write("nul.conf", std::string("a 1;\nb \0;\n", 10));
    conf_directive_t *root = nullptr;
    char err[512] = "";
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(p.c_str(), &root, err, sizeof err));
    EXPECT_EQ(p + ":2: unexpected NUL byte (not a text file?)", err);
    p = d.write("nul2.conf", std::string("a b\0c;\n", 7));
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(p.c_str(), &root, err, sizeof err));
    EXPECT_EQ(p + ":1: unexpected NUL byte (not a text file?)", err);
}

TEST(ConfParser, TokenAndNestingBounds) {
    std::string ok = "a " + std::string(4096, 'x') + ";";
    EXPECT_EQ("", parse_err(ok));
    EXPECT_EQ("t.conf:2: token too long (more than 4096 bytes)",
              parse_err("a 1;\nb " + std::string(4097, 'x') + ";"));
    EXPECT_EQ("t.conf:1: token too long (more than 4096 bytes)",
              parse_err("b \"" + std::string(5000, 'x') + "\";"));

    std::string deep;
    for (int i = 0; i < 64; i++) deep += "a {";
    EXPECT_EQ("", parse_err(deep + std::string(64, '}')));
    deep += "a {";
    EXPECT_EQ("t.conf:1: blocks nested too deeply (more than 64 levels)", parse_err(deep));
}

TEST(ConfParser, FileTooLargeIsRefused) {
    TmpDir d;
    std::string big(4 * 1024 * 1024 + 1, '#');
    std::string p = d.write("big.conf", big);
    conf_directive_t *root = nullptr;
    char err[512] = "";
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(p.c_str(), &root, err, sizeof err));
    EXPECT_EQ(nullptr, root);
    EXPECT_EQ(p + ": cannot open config file: file too large (more than 4194304 bytes)", err);
    EXPECT_NE("", parse_err(big));

    std::string p2 = d.write("ok.conf", std::string(4 * 1024 * 1024, '#'));
    ASSERT_EQ(0, conf_parse_file(p2.c_str(), &root, err, sizeof err)) << err;
    conf_free(root);
}

TEST(ConfParser, MissingFile) {
    conf_directive_t *root = nullptr;
    char err[512] = "";
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file("/nonexistent/rill.conf", &root, err, sizeof err));
    EXPECT_EQ(nullptr, root);
    EXPECT_STREQ("/nonexistent/rill.conf: cannot open config file: No such file or directory", err);
}

TEST(ConfParser, IncludeExpandsInPlace) {
    TmpDir d;
    d.mkdir_("sub");
    d.write("sub/b.conf", "inner 1;\n");
    d.write("sub/a.conf", "# a\nfrom_a x;\ninclude b.conf;\n");
    d.write("play.conf", "\n\ngop_cache off;\n");
    std::string abs = d.write("abs.conf", "absolute yes;\n");
    std::string main = d.write("main.conf",
                               "first 1;\n"
                               "include sub/a.conf;\n"
                               "vhost v {\n"
                               "  play { include play.conf; }\n"
                               "  include " + abs + ";\n"
                               "}\n"
                               "last 2;\n");
    conf_directive_t *root = nullptr;
    char err[512] = "";
    ASSERT_EQ(0, conf_parse_file(main.c_str(), &root, err, sizeof err)) << err;
    ASSERT_EQ(5, root->nchildren);
    const char *names[] = {"first", "from_a", "inner", "vhost", "last"};
    for (int i = 0; i < 5; i++) EXPECT_STREQ(names[i], root->children[i]->name);

    EXPECT_EQ(main, root->children[0]->file);
    EXPECT_EQ(d.path + "/sub/a.conf", root->children[1]->file);
    EXPECT_EQ(2, root->children[1]->line);
    EXPECT_EQ(d.path + "/sub/b.conf", root->children[2]->file);  // relative to the including file
    EXPECT_EQ(1, root->children[2]->line);
    EXPECT_EQ(7, root->children[4]->line);

    conf_directive_t *vh = root->children[3];
    conf_directive_t *gop = conf_get(conf_get(vh, "play"), "gop_cache");
    ASSERT_NE(nullptr, gop);
    EXPECT_EQ(d.path + "/play.conf", gop->file);
    EXPECT_EQ(3, gop->line);
    conf_directive_t *a = conf_get(vh, "absolute");
    ASSERT_NE(nullptr, a);
    EXPECT_EQ(abs, a->file);
    EXPECT_EQ(nullptr, conf_get(root, "include"));
    EXPECT_EQ(5, root->nfiles);
    conf_free(root);
}

TEST(ConfParser, IncludeErrors) {
    TmpDir d;
    d.write("bad.conf", "ok 1;\n\nbroken\n");
    d.write("close.conf", "}\n");
    d.write("self.conf", "x 1;\ninclude self.conf;\n");
    std::string main = d.write("main.conf",
                               "a 1;\n"
                               "include missing.conf;\n");
    conf_directive_t *root = nullptr;
    char err[512] = "";
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(main.c_str(), &root, err, sizeof err));
    EXPECT_EQ(main + ":2: cannot open include file '" + d.path + "/missing.conf': No such file or directory",
              err);

    // An error inside the included file names that file.
    main = d.write("main2.conf", "include bad.conf;\n");
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(main.c_str(), &root, err, sizeof err));
    EXPECT_EQ(d.path + "/bad.conf:3: missing ';' after directive 'broken' (before end of file)", err);

    // An included file is self-contained: it cannot close the includer's block.
    main = d.write("main3.conf", "v {\n  include close.conf;\n}\n");
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(main.c_str(), &root, err, sizeof err));
    EXPECT_EQ(d.path + "/close.conf:1: unexpected '}'", err);

    // A loop stops at the depth bound, at the including line.
    main = d.write("main4.conf", "include self.conf;\n");
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(main.c_str(), &root, err, sizeof err));
    EXPECT_EQ(d.path + "/self.conf:2: include 'self.conf' nested too deeply (more than 8 levels, include loop?)",
              err);

    EXPECT_EQ("t.conf:2: directive 'include' takes 1 argument, got 0", parse_err("a 1;\ninclude;\n"));
    EXPECT_EQ("t.conf:1: directive 'include' takes 1 argument, got 2", parse_err("include a b;\n"));
    EXPECT_EQ("t.conf:1: directive 'include' takes no block", parse_err("include a { }\n"));
    EXPECT_EQ(nullptr, root);
}

TEST(ConfParser, IncludeDepthEightIsAllowed) {
    TmpDir d;
    for (int i = 1; i <= 8; i++)
        d.write("i" + std::to_string(i) + ".conf",
                i < 8 ? "include i" + std::to_string(i + 1) + ".conf;\n" : "deep 8;\n");
    std::string main = d.write("main.conf", "include i1.conf;\n");
    conf_directive_t *root = nullptr;
    char err[512] = "";
    ASSERT_EQ(0, conf_parse_file(main.c_str(), &root, err, sizeof err)) << err;
    EXPECT_STREQ("8", conf_arg0(conf_get(root, "deep")));
    conf_free(root);

    d.write("i8.conf", "include i9.conf;\n");
    d.write("i9.conf", "deep 9;\n");
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(main.c_str(), &root, err, sizeof err));
    EXPECT_EQ(d.path + "/i8.conf:1: include 'i9.conf' nested too deeply (more than 8 levels, include loop?)",
              err);
}

TEST(ConfParser, DirectoryIsNotAFile) {
    TmpDir d;
    conf_directive_t *root = nullptr;
    char err[512] = "";
    EXPECT_EQ(RILL_ERR_CONF, conf_parse_file(d.path.c_str(), &root, err, sizeof err));
    EXPECT_EQ(d.path + ": cannot open config file: Is a directory", err);
}

// ---- model: defaults ----------------------------------------------------

TEST(ConfModel, DefaultsForAnEmptyFile) {
    Conf k("");
    config_t *c = k.c;
    ASSERT_NE(nullptr, c);
    EXPECT_STREQ("t.conf", c->path);
    ASSERT_EQ(1, c->nlistens);
    EXPECT_STREQ("0.0.0.0", c->listens[0].ip);
    EXPECT_EQ(1935, c->listens[0].port);
    EXPECT_EQ(1000, c->max_connections);
    EXPECT_EQ(0, c->daemon);
    EXPECT_STREQ("./objs/rill.pid", c->pid_file);
    EXPECT_EQ(0, c->log_tank_file);
    EXPECT_EQ(RILL_LOG_TRACE, c->log_level);
    EXPECT_STREQ("./objs/rill.log", c->log_file);
    EXPECT_EQ(60000, c->chunk_size);

    ASSERT_EQ(1, c->nvhosts);
    const vhost_conf_t *v = k.def();
    ASSERT_NE(nullptr, v);
    EXPECT_EQ(1, v->enabled);
    EXPECT_EQ(60000, v->chunk_size);
    EXPECT_EQ(0, v->tcp_nodelay);
    EXPECT_EQ(0, v->min_latency);
    EXPECT_EQ(1, v->gop_cache);
    EXPECT_DOUBLE_EQ(30.0, v->queue_length);
    EXPECT_EQ(350, v->mw_latency);
    EXPECT_EQ(8, v->mw_msgs);
    EXPECT_EQ(JITTER_FULL, v->time_jitter);
    EXPECT_EQ(65536, v->send_buffer);
    EXPECT_EQ(20000, v->firstpkt_timeout);
    EXPECT_EQ(5000, v->normal_timeout);
    EXPECT_EQ(1000, v->takeover_timeout);
    EXPECT_EQ(0, v->recv_buffer);
    EXPECT_STREQ("t.conf", v->file);
    EXPECT_EQ(config_vhost(c, "anything"), v);
    EXPECT_EQ(config_vhost(c, nullptr), v);
}

TEST(ConfModel, DefaultVhostAddedBesideNamedOnes) {
    Conf k("vhost a.com { }\n");
    ASSERT_NE(nullptr, k.c);
    EXPECT_EQ(2, k.c->nvhosts);
    ASSERT_NE(nullptr, k.vhost("a.com"));
    EXPECT_EQ(1, k.vhost("a.com")->line);
    ASSERT_NE(nullptr, k.def());
    EXPECT_EQ(1, k.def()->enabled);
}

// ---- model: every directive with a good value ---------------------------

TEST(ConfModel, TopLevelGoodValues) {
    Conf k("listen 127.0.0.2:19350 1936 [::1]:1937;\n"
           "max_connections 3;\n"
           "daemon on;\n"
           "pid /tmp/x.pid;\n"
           "srs_log_tank file;\n"
           "srs_log_level warn;\n"
           "srs_log_file \"/tmp/r l.log\";\n"
           "chunk_size 4096;\n");
    config_t *c = k.c;
    ASSERT_NE(nullptr, c);
    ASSERT_EQ(3, c->nlistens);
    EXPECT_STREQ("127.0.0.2", c->listens[0].ip);
    EXPECT_EQ(19350, c->listens[0].port);
    EXPECT_STREQ("0.0.0.0", c->listens[1].ip);
    EXPECT_EQ(1936, c->listens[1].port);
    EXPECT_STREQ("::1", c->listens[2].ip);
    EXPECT_EQ(1937, c->listens[2].port);
    EXPECT_EQ(3, c->max_connections);
    EXPECT_EQ(1, c->daemon);
    EXPECT_STREQ("/tmp/x.pid", c->pid_file);
    EXPECT_EQ(1, c->log_tank_file);
    EXPECT_EQ(RILL_LOG_WARN, c->log_level);
    EXPECT_STREQ("/tmp/r l.log", c->log_file);
    EXPECT_EQ(4096, c->chunk_size);
    EXPECT_EQ(4096, k.def()->chunk_size);  // vhosts inherit the global chunk_size
}

TEST(ConfModel, LogLevels) {
    const char *names[] = {"verbose", "info", "trace", "warn", "error"};
    int levels[] = {RILL_LOG_VERBOSE, RILL_LOG_INFO, RILL_LOG_TRACE, RILL_LOG_WARN, RILL_LOG_ERROR};
    for (int i = 0; i < 5; i++) {
        Conf k(std::string("srs_log_level ") + names[i] + ";");
        ASSERT_NE(nullptr, k.c);
        EXPECT_EQ(levels[i], k.c->log_level) << names[i];
    }
    Conf k2("srs_log_tank console; daemon off;");
    EXPECT_EQ(0, k2.c->log_tank_file);
    EXPECT_EQ(0, k2.c->daemon);
}

TEST(ConfModel, ListenForms) {
    struct { const char *arg; const char *ip; int port; } good[] = {
        {"1935", "0.0.0.0", 1935},
        {"127.0.0.2:19350", "127.0.0.2", 19350},
        {"0.0.0.0:1935", "0.0.0.0", 1935},
        {"1", "0.0.0.0", 1},
        {"65535", "0.0.0.0", 65535},
        {"[::]:1935", "::", 1935},
    };
    for (auto &g : good) {
        Conf k(std::string("listen ") + g.arg + ";");
        ASSERT_NE(nullptr, k.c) << g.arg;
        ASSERT_EQ(1, k.c->nlistens);
        EXPECT_STREQ(g.ip, k.c->listens[0].ip) << g.arg;
        EXPECT_EQ(g.port, k.c->listens[0].port) << g.arg;
    }
    const char *bad[] = {"70000", "abc", "0", "-1", "65536", "1935x", "127.0.0.1:", ":1935", "1.2.3:1935",
                         "localhost:1935", "::1:1935", "[::1]1935", "[::1:1935", "127.0.0.1:abc", "\"\""};
    for (const char *b : bad) {
        std::string arg = b;
        std::string shown = arg == "\"\"" ? "" : arg;
        EXPECT_EQ("t.conf:2: listen '" + shown + "' is not [ip:]port with a port in 1..65535",
                  load_err("daemon off;\nlisten 1935 " + arg + ";\n"))
            << b;
    }
    EXPECT_EQ("t.conf:1: directive 'listen' needs at least 1 argument", load_err("listen;"));
    EXPECT_EQ("t.conf:1: directive 'listen' takes no block", load_err("listen 1935 { }"));
}

TEST(ConfModel, ListenRepeatsAndProxyProtocol) {
    Conf k("listen 127.0.0.21:1935 proxy_protocol;\nlisten 127.0.0.21:19350 127.0.0.22:1935;\n");
    ASSERT_NE(nullptr, k.c);
    ASSERT_EQ(3, k.c->nlistens);
    EXPECT_EQ(1935, k.c->listens[0].port);
    EXPECT_EQ(1, k.c->listens[0].proxy_protocol);
    EXPECT_EQ(19350, k.c->listens[1].port);
    EXPECT_EQ(0, k.c->listens[1].proxy_protocol);
    EXPECT_STREQ("127.0.0.22", k.c->listens[2].ip);
    EXPECT_EQ(0, k.c->listens[2].proxy_protocol);
    EXPECT_EQ("t.conf:1: directive 'listen' needs at least 1 argument", load_err("listen proxy_protocol;"));
}

TEST(ConfModel, VhostGoodValues) {
    Conf k("chunk_size 4096;\n"
           "vhost live {\n"
           "    enabled on;\n"
           "    chunk_size 128;\n"
           "    tcp_nodelay on;\n"
           "    min_latency off;\n"
           "    play {\n"
           "        gop_cache off;\n"
           "        queue_length 2.5;\n"
           "        mw_latency 100;\n"
           "        mw_msgs 4;\n"
           "        time_jitter zero;\n"
           "        send_buffer 4096;\n"
           "    }\n"
           "    publish {\n"
           "        firstpkt_timeout 1000;\n"
           "        normal_timeout 7000;\n"
           "        takeover_timeout 2500; recv_buffer 262144;\n"
           "    }\n"
           "}\n"
           "vhost off.com { enabled off; play { time_jitter off; send_buffer 16777216; } publish { takeover_timeout 0; recv_buffer 0; } }\n"
           "vhost __defaultVhost__ { play { time_jitter full; } }\n");
    ASSERT_NE(nullptr, k.c);
    ASSERT_EQ(3, k.c->nvhosts);
    const vhost_conf_t *v = k.vhost("live");
    ASSERT_NE(nullptr, v);
    EXPECT_EQ(2, v->line);
    EXPECT_STREQ("t.conf", v->file);
    EXPECT_EQ(1, v->enabled);
    EXPECT_EQ(128, v->chunk_size);
    EXPECT_EQ(1, v->tcp_nodelay);
    EXPECT_EQ(0, v->min_latency);
    EXPECT_EQ(0, v->gop_cache);
    EXPECT_DOUBLE_EQ(2.5, v->queue_length);
    EXPECT_EQ(100, v->mw_latency);
    EXPECT_EQ(4, v->mw_msgs);
    EXPECT_EQ(JITTER_ZERO, v->time_jitter);
    EXPECT_EQ(4096, v->send_buffer);
    EXPECT_EQ(1000, v->firstpkt_timeout);
    EXPECT_EQ(7000, v->normal_timeout);
    EXPECT_EQ(2500, v->takeover_timeout);
    EXPECT_EQ(262144, v->recv_buffer);

    const vhost_conf_t *o = k.vhost("off.com");
    ASSERT_NE(nullptr, o);
    EXPECT_EQ(0, o->enabled);
    EXPECT_EQ(0, o->takeover_timeout);
    EXPECT_EQ(0, o->recv_buffer);
    EXPECT_EQ(4096, o->chunk_size);
    EXPECT_EQ(JITTER_OFF, o->time_jitter);
    EXPECT_EQ(16777216, o->send_buffer);
    EXPECT_EQ(22, k.def()->line);
    EXPECT_EQ(JITTER_FULL, k.def()->time_jitter);
}

TEST(ConfModel, Srs2StyleVhostLevelPlayAndPublishKnobs) {
    Conf k("vhost a {\n gop_cache off; queue_length 5; mw_latency 10; time_jitter off;\n"
           " publish_1stpkt_timeout 3000; publish_normal_timeout 4000;\n}\n");
    const vhost_conf_t *v = k.vhost("a");
    ASSERT_NE(nullptr, v);
    EXPECT_EQ(0, v->gop_cache);
    EXPECT_DOUBLE_EQ(5, v->queue_length);
    EXPECT_EQ(10, v->mw_latency);
    EXPECT_EQ(JITTER_OFF, v->time_jitter);
    EXPECT_EQ(3000, v->firstpkt_timeout);
    EXPECT_EQ(4000, v->normal_timeout);
}

TEST(ConfModel, MinLatencyChangesMergedWriteDefaults) {
    Conf k("vhost rt { min_latency on; }\n"
           "vhost rt2 { min_latency on; play { mw_latency 100; } }\n"
           "vhost rt3 { play { mw_msgs 2; } min_latency on; }\n"
           "vhost normal { min_latency off; }\n");
    ASSERT_NE(nullptr, k.c);
    EXPECT_EQ(1, k.vhost("rt")->min_latency);
    EXPECT_EQ(0, k.vhost("rt")->mw_latency);
    EXPECT_EQ(0, k.vhost("rt")->mw_msgs);
    EXPECT_EQ(100, k.vhost("rt2")->mw_latency);  // explicit value wins
    EXPECT_EQ(0, k.vhost("rt2")->mw_msgs);
    EXPECT_EQ(0, k.vhost("rt3")->mw_latency);
    EXPECT_EQ(2, k.vhost("rt3")->mw_msgs);
    EXPECT_EQ(350, k.vhost("normal")->mw_latency);
    EXPECT_EQ(8, k.vhost("normal")->mw_msgs);
    // Zero set explicitly without min_latency stays zero.
    Conf z("vhost z { play { mw_latency 0; mw_msgs 0; } }");
    EXPECT_EQ(0, z.vhost("z")->mw_latency);
    EXPECT_EQ(0, z.vhost("z")->mw_msgs);
}

TEST(ConfModel, MwMsgsAboveSrsMaxIsClampedWithWarning) {
    LogCapture log;
    Conf k("vhost a {\n play {\n  mw_msgs 500;\n }\n}\n");
    EXPECT_EQ(128, k.vhost("a")->mw_msgs);
    EXPECT_NE(std::string::npos, log.text().find("t.conf:3: mw_msgs 500 clamped to 128"));
}

// ---- model: bad values ---------------------------------------------------

TEST(ConfModel, BadValuesNameFileLineDirectiveAndValue) {
    struct { std::string text; std::string err; } cases[] = {
        {"max_connections 0;", "t.conf:1: max_connections '0' is out of range 1..1000000"},
        {"max_connections many;", "t.conf:1: max_connections 'many' is not a number"},
        {"max_connections 99999999999999999999;",
         "t.conf:1: max_connections '99999999999999999999' is out of range 1..1000000"},
        {"max_connections 1 2;", "t.conf:1: directive 'max_connections' takes 1 argument, got 2"},
        {"max_connections;", "t.conf:1: directive 'max_connections' takes 1 argument, got 0"},
        {"max_connections +5;", "t.conf:1: max_connections '+5' is not a number"},
        {"max_connections 0x10;", "t.conf:1: max_connections '0x10' is not a number"},
        {"daemon yes;", "t.conf:1: daemon 'yes' must be on or off"},
        {"daemon { }", "t.conf:1: directive 'daemon' takes no block"},
        {"pid;", "t.conf:1: directive 'pid' takes 1 argument, got 0"},
        {"pid '';", "t.conf:1: pid '' must not be empty"},
        {"srs_log_tank syslog;", "t.conf:1: srs_log_tank 'syslog' must be console or file"},
        {"srs_log_level debug;", "t.conf:1: srs_log_level 'debug' must be verbose, info, trace, warn or error"},
        {"srs_log_file a b;", "t.conf:1: directive 'srs_log_file' takes 1 argument, got 2"},
        {"chunk_size 127;", "t.conf:1: chunk_size '127' is out of range 128..65536"},
        {"chunk_size 65537;", "t.conf:1: chunk_size '65537' is out of range 128..65536"},
        {"vhost;", "t.conf:1: directive 'vhost' needs a { } block"},
        {"vhost { }", "t.conf:1: directive 'vhost' takes 1 argument, got 0"},
        {"vhost a b { }", "t.conf:1: directive 'vhost' takes 1 argument, got 2"},
        {"vhost '' { }", "t.conf:1: vhost name must not be empty"},
        {"\nvhost a {\n enabled maybe;\n}", "t.conf:3: enabled 'maybe' must be on or off"},
        {"vhost a {\n chunk_size 100;\n}", "t.conf:2: chunk_size '100' is out of range 128..65536"},
        {"vhost a {\n tcp_nodelay 1;\n}", "t.conf:2: tcp_nodelay '1' must be on or off"},
        {"vhost a {\n min_latency;\n}", "t.conf:2: directive 'min_latency' takes 1 argument, got 0"},
        {"vhost a {\n play;\n}", "t.conf:2: directive 'play' needs a { } block"},
        {"vhost a {\n play x { }\n}", "t.conf:2: directive 'play' takes 0 arguments, got 1"},
        {"vhost a {\n publish;\n}", "t.conf:2: directive 'publish' needs a { } block"},
        {"vhost a { play {\n gop_cache 0; } }", "t.conf:2: gop_cache '0' must be on or off"},
        {"vhost a { play {\n queue_length 0; } }",
         "t.conf:2: queue_length '0' is out of range (0..3600] seconds"},
        {"vhost a { play {\n queue_length -1; } }",
         "t.conf:2: queue_length '-1' is out of range (0..3600] seconds"},
        {"vhost a { play {\n queue_length 1e9; } }",
         "t.conf:2: queue_length '1e9' is out of range (0..3600] seconds"},
        {"vhost a { play {\n queue_length ten; } }", "t.conf:2: queue_length 'ten' is not a number"},
        {"vhost a { play {\n queue_length 1s; } }", "t.conf:2: queue_length '1s' is not a number"},
        {"vhost a { play {\n queue_length nan; } }", "t.conf:2: queue_length 'nan' is not a number"},
        {"vhost a { play {\n queue_length inf; } }", "t.conf:2: queue_length 'inf' is not a number"},
        {"vhost a { play {\n mw_latency -1; } }", "t.conf:2: mw_latency '-1' is out of range 0..3600000"},
        {"vhost a { play {\n mw_latency fast; } }", "t.conf:2: mw_latency 'fast' is not a number"},
        {"vhost a { play {\n mw_msgs -3; } }", "t.conf:2: mw_msgs '-3' is out of range 0..1000000"},
        {"vhost a { play {\n time_jitter half; } }", "t.conf:2: time_jitter 'half' must be full, zero or off"},
        {"vhost a { play {\n send_buffer 4095; } }", "t.conf:2: send_buffer '4095' is out of range 4096..16777216"},
        {"vhost a { play {\n send_buffer 16777217; } }",
         "t.conf:2: send_buffer '16777217' is out of range 4096..16777216"},
        {"vhost a { publish {\n firstpkt_timeout 0; } }",
         "t.conf:2: firstpkt_timeout '0' is out of range 1..3600000"},
        {"vhost a { publish {\n normal_timeout x; } }", "t.conf:2: normal_timeout 'x' is not a number"},
        {"vhost a { publish {\n takeover_timeout -1; } }",
         "t.conf:2: takeover_timeout '-1' is out of range 0..3600000"},
        {"vhost a { publish {\n takeover_timeout 1s; } }", "t.conf:2: takeover_timeout '1s' is not a number"},
        {"vhost a { publish {\n recv_buffer 4095; } }", "t.conf:2: recv_buffer '4095' is out of range 4096..16777216"},
        {"vhost a { publish {\n recv_buffer 64k; } }", "t.conf:2: recv_buffer '64k' is not a number"},
        {"vhost a {\n publish_1stpkt_timeout -5;\n}",
         "t.conf:2: publish_1stpkt_timeout '-5' is out of range 1..3600000"},
    };
    for (auto &tc : cases) EXPECT_EQ(tc.err, load_err(tc.text)) << tc.text;
}

TEST(ConfModel, DuplicatesAreRefused) {
    EXPECT_EQ("t.conf:3: vhost 'a' is duplicate (first at t.conf:1)",
              load_err("vhost a { }\nvhost b { }\nvhost a { }\n"));
    EXPECT_EQ("t.conf:2: directive 'max_connections' is duplicate (first at t.conf:1)",
              load_err("max_connections 5;\nmax_connections 6;\n"));
    EXPECT_EQ("t.conf:2: directive 'gop_cache' is duplicate (first at t.conf:1)",
              load_err("vhost a { play { gop_cache on;\ngop_cache off; } }"));
    // Same name in different vhosts is fine.
    EXPECT_EQ("", load_err("vhost a { enabled on; } vhost b { enabled on; }"));
}

TEST(ConfModel, UnknownDirectivesAreRefused) {
    EXPECT_EQ("t.conf:2: unknown directive 'lisen'", load_err("daemon off;\nlisen 1935;\n"));
    EXPECT_EQ("t.conf:2: unknown directive 'gop_cach'", load_err("vhost a {\n gop_cach on;\n}"));
    EXPECT_EQ("t.conf:3: unknown directive 'bogus'", load_err("vhost a {\n play {\n bogus 1; } }"));
    EXPECT_EQ("t.conf:1: unknown directive 'bogus'", load_err("vhost a { publish { bogus { } } }"));
    // Play-level names are not top-level ones.
    EXPECT_EQ("t.conf:1: unknown directive 'gop_cache'", load_err("gop_cache on;"));
    EXPECT_EQ("t.conf:1: unknown directive 'enabled'", load_err("enabled on;"));
}

TEST(ConfModel, SrsOnlyDirectivesAreWarnedAndIgnored) {
    LogCapture log;
    Conf k("rtc_server {\n enabled on;\n listen 8000;\n candidate $CANDIDATE;\n}\n"
           "ff_log_dir ./objs;\n"
           "vhost a {\n"
           "    hls { enabled on; hls_fragment 10; hls_acodec aac; }\n"
           "    play { atc on; reduce_sequence_header on; gop_cache off; }\n"
           "    publish { parse_sps on; mr off; }\n"
           "    ingest livestream { enabled on; input { type file; } }\n"
           "}\n");
    ASSERT_NE(nullptr, k.c);
    EXPECT_EQ(0, k.vhost("a")->gop_cache);  // the supported sibling still applies
    std::string t = log.text();
    const char *lines[] = {
        "t.conf:1: directive 'rtc_server' is not supported by rill yet, ignored",
        "t.conf:6: directive 'ff_log_dir' is not supported by rill yet, ignored",
        "t.conf:8: directive 'hls_acodec' is not supported by rill yet, ignored",
        "t.conf:9: directive 'atc' is not supported by rill yet, ignored",
        "t.conf:9: directive 'reduce_sequence_header' is not supported by rill yet, ignored",
        "t.conf:10: directive 'parse_sps' is not supported by rill yet, ignored",
        "t.conf:10: directive 'mr' is not supported by rill yet, ignored",
        "t.conf:11: directive 'ingest' is not supported by rill yet, ignored",
    };
    for (const char *l : lines) EXPECT_EQ(1, count_of(t, l)) << l << "\nlog:\n" << t;
    EXPECT_NE(std::string::npos, t.find("[warn]"));
    // The contents of an ignored block are not looked at (no warning for them).
    EXPECT_EQ(0, count_of(t, "'hls_fragment'"));
    EXPECT_EQ(0, count_of(t, "'candidate'"));
    EXPECT_EQ(8, count_of(t, "not supported by rill yet"));
    EXPECT_EQ(1, k.vhost("a")->hls_enabled);   // hls is implemented, its SRS-only knobs are not
}

TEST(ConfModel, VhostLookup) {
    Conf k("vhost a.com { }\n"
           "vhost off.com { enabled off; }\n");
    config_t *c = k.c;
    ASSERT_NE(nullptr, c);
    EXPECT_EQ(k.vhost("a.com"), config_vhost(c, "a.com"));
    EXPECT_EQ(nullptr, config_vhost(c, "off.com"));        // exact match, disabled
    EXPECT_EQ(k.def(), config_vhost(c, "other.com"));      // fallback
    EXPECT_EQ(k.def(), config_vhost(c, "A.COM"));          // exact: case matters

    Conf k2("vhost __defaultVhost__ { enabled off; }\nvhost a.com { }\n");
    EXPECT_EQ(nullptr, config_vhost(k2.c, "other.com"));
    EXPECT_EQ(k2.vhost("a.com"), config_vhost(k2.c, "a.com"));
    EXPECT_EQ(2, k2.c->nvhosts);
}

TEST(ConfModel, ParseErrorsComeThroughLoad) {
    EXPECT_EQ("t.conf:2: missing ';' after directive 'daemon' (before '}')", load_err("vhost a {\ndaemon on\n}"));
    config_t *c = nullptr;
    char err[256] = "";
    EXPECT_EQ(RILL_ERR_CONF, config_load("/nonexistent/x.conf", &c, err, sizeof err));
    EXPECT_EQ(nullptr, c);
    EXPECT_STREQ("/nonexistent/x.conf: cannot open config file: No such file or directory", err);
}

TEST(ConfModel, ErrorsInIncludedFilesNameThatFile) {
    TmpDir d;
    d.write("vh.conf", "vhost a {\n  play {\n    mw_latency slow;\n  }\n}\n");
    std::string main = d.write("rill.conf", "listen 1935;\ninclude vh.conf;\n");
    config_t *c = nullptr;
    char err[512] = "";
    EXPECT_EQ(RILL_ERR_CONF, config_load(main.c_str(), &c, err, sizeof err));
    EXPECT_EQ(d.path + "/vh.conf:3: mw_latency 'slow' is not a number", err);

    d.write("vh.conf", "vhost a {\n  play { mw_latency 5; }\n}\n");
    ASSERT_EQ(0, config_load(main.c_str(), &c, err, sizeof err)) << err;
    EXPECT_EQ(main, c->path);
    ASSERT_EQ(2, c->nvhosts);
    EXPECT_EQ(d.path + "/vh.conf", c->vhosts[0].file);  // still valid after the tree is freed
    EXPECT_EQ(1, c->vhosts[0].line);
    EXPECT_EQ(5, c->vhosts[0].mw_latency);
    config_free(c);
}

TEST(ConfModel, SrsStyleConfLoads) {
    // Shaped like SRS's conf/srs.conf plus common extras.
    const char *srs =
        "# main config for srs.\n"
        "# @see full.conf for detail config.\n"
        "\n"
        "listen              1935;\n"
        "max_connections     1000;\n"
        "#srs_log_tank        file;\n"
        "#srs_log_file        ./objs/srs.log;\n"
        "srs_log_tank        console;\n"
        "daemon              off;\n"
        "http_api {\n"
        "    enabled         on;\n"
        "    listen          1985;\n"
        "}\n"
        "http_server {\n"
        "    enabled         on;\n"
        "    listen          8080;\n"
        "    dir             ./objs/nginx/html;\n"
        "}\n"
        "rtc_server {\n"
        "    enabled on;\n"
        "    listen 8000; # UDP port\n"
        "    # @see https://ossrs.net/lts/zh-cn/docs/v4/doc/webrtc#config-candidate\n"
        "    candidate $CANDIDATE;\n"
        "}\n"
        "vhost __defaultVhost__ {\n"
        "    hls {\n"
        "        enabled         on;\n"
        "    }\n"
        "    http_remux {\n"
        "        enabled     on;\n"
        "        mount       [vhost]/[app]/[stream].flv;\n"
        "    }\n"
        "    rtc {\n"
        "        enabled     on;\n"
        "        # @see https://ossrs.net/lts/zh-cn/docs/v4/doc/webrtc#rtmp-to-rtc\n"
        "        rtmp_to_rtc off;\n"
        "        # @see https://ossrs.net/lts/zh-cn/docs/v4/doc/webrtc#rtc-to-rtmp\n"
        "        rtc_to_rtmp off;\n"
        "    }\n"
        "\n"
        "    play{\n"
        "        gop_cache_max_frames 2500;\n"
        "    }\n"
        "}\n";
    TmpDir d;
    std::string p = d.write("srs.conf", srs);
    LogCapture log;
    config_t *c = nullptr;
    char err[512] = "";
    ASSERT_EQ(0, config_load(p.c_str(), &c, err, sizeof err)) << err;
    ASSERT_EQ(1, c->nlistens);
    EXPECT_EQ(1935, c->listens[0].port);
    EXPECT_EQ(1000, c->max_connections);
    EXPECT_EQ(0, c->log_tank_file);
    EXPECT_EQ(0, c->daemon);
    ASSERT_EQ(1, c->nvhosts);
    EXPECT_EQ(25, c->vhosts[0].line);
    EXPECT_EQ(&c->vhosts[0], config_vhost(c, "any"));
    EXPECT_EQ(1, c->http_api.enabled);
    EXPECT_EQ(1985, c->http_api.listen.port);
    EXPECT_EQ(1, c->http_server.enabled);
    EXPECT_STREQ("./objs/nginx/html", c->http_server.dir);
    EXPECT_EQ(1, c->vhosts[0].http_remux_enabled);
    config_free(c);
    std::string t = log.text();
    EXPECT_EQ(std::string::npos, t.find(p + ":29: directive 'http_remux'"));
    EXPECT_EQ(3, count_of(t, "not supported by rill yet"));  // http_api, http_server, http_remux, hls are implemented
}

// The example configs shipped under tests/unit/conf/ load (run from the repo root).
TEST(ConfModel, ExampleConfsLoad) {
    std::string dir = __FILE__;
    dir = dir.substr(0, dir.find_last_of('/') + 1) + "conf/";
    if (access((dir + "rill.conf").c_str(), R_OK) != 0) GTEST_SKIP() << "run from the repository root";
    LogCapture log;  // keep the expected warnings out of the test output
    config_t *c = nullptr;
    char err[512] = "";
    ASSERT_EQ(0, config_load((dir + "rill.conf").c_str(), &c, err, sizeof err)) << err;
    EXPECT_EQ(2, c->nlistens);
    const vhost_conf_t *v = config_vhost(c, "realtime.example.com");
    ASSERT_NE(nullptr, v);
    EXPECT_EQ(1, v->min_latency);
    EXPECT_EQ(0, v->mw_latency);
    EXPECT_EQ(0, v->mw_msgs);
    EXPECT_EQ(dir + "vhosts.conf", v->file);
    config_free(c);
    ASSERT_EQ(0, config_load((dir + "srs.conf").c_str(), &c, err, sizeof err)) << err;
    config_free(c);
}

// ---- memory bounds: queue_bytes (per stream) and input_budget (server-wide)

TEST(ConfModel, QueueBytesAndInputBudgetDefaults) {
    Conf k("vhost a.com { }\n");
    ASSERT_NE(nullptr, k.c);
    EXPECT_EQ(1ull << 30, k.c->input_budget);
    EXPECT_EQ(64ull << 20, k.def()->queue_bytes);
    EXPECT_EQ(64ull << 20, k.vhost("a.com")->queue_bytes);
}

TEST(ConfModel, QueueBytesAndInputBudgetGoodValues) {
    Conf k("input_budget 2g;\n"
           "vhost a.com { play { queue_bytes 8m; } }\n"
           "vhost b.com { play { queue_bytes 65536; } }\n"
           "vhost c.com { play { queue_bytes 1024K; } }\n");
    ASSERT_NE(nullptr, k.c);
    EXPECT_EQ(2ull << 30, k.c->input_budget);
    EXPECT_EQ(8ull << 20, k.vhost("a.com")->queue_bytes);
    EXPECT_EQ(65536u, k.vhost("b.com")->queue_bytes);
    EXPECT_EQ(1ull << 20, k.vhost("c.com")->queue_bytes);
    Conf m("input_budget 1048576;\n");
    EXPECT_EQ(1ull << 20, m.c->input_budget);
}

TEST(ConfModel, QueueBytesAndInputBudgetBadValues) {
    EXPECT_EQ("t.conf:2: queue_bytes '8x' is not a size (bytes, or a number with k, m or g)",
              load_err("vhost a {\n play { queue_bytes 8x; }\n}\n"));
    EXPECT_EQ("t.conf:1: queue_bytes 'm' is not a size (bytes, or a number with k, m or g)",
              load_err("vhost a { play { queue_bytes m; } }\n"));
    EXPECT_EQ("t.conf:1: queue_bytes '-1' is not a size (bytes, or a number with k, m or g)",
              load_err("vhost a { play { queue_bytes -1; } }\n"));
    EXPECT_EQ("t.conf:1: queue_bytes '1k' is out of range 65536..1099511627776 bytes",
              load_err("vhost a { play { queue_bytes 1k; } }\n"));
    EXPECT_EQ("t.conf:1: queue_bytes '2048g' is out of range 65536..1099511627776 bytes",
              load_err("vhost a { play { queue_bytes 2048g; } }\n"));
    EXPECT_EQ("t.conf:1: queue_bytes '99999999999999999999999' is out of range",
              load_err("vhost a { play { queue_bytes 99999999999999999999999; } }\n"));
    EXPECT_EQ("t.conf:2: input_budget '1000' is out of range 1048576..1099511627776 bytes",
              load_err("daemon off;\ninput_budget 1000;\n"));
    EXPECT_EQ("t.conf:1: input_budget '1 g' is not a size (bytes, or a number with k, m or g)",
              load_err("input_budget '1 g';\n"));
    EXPECT_EQ("t.conf:1: directive 'input_budget' takes 1 argument, got 2", load_err("input_budget 1 g;\n"));
}

TEST(ConfModel, HttpRemuxTrackFlags) {
    Conf d("vhost a.com { http_remux { enabled on; } }\n");
    ASSERT_NE(nullptr, d.c);
    EXPECT_EQ(1, d.vhost("a.com")->http_remux_has_audio);
    EXPECT_EQ(1, d.vhost("a.com")->http_remux_has_video);
    EXPECT_EQ(1, d.vhost("a.com")->http_remux_guess_has_av);
    Conf g("vhost a.com { http_remux { enabled on; has_audio off; has_video on; guess_has_av off; } }\n");
    ASSERT_NE(nullptr, g.c);
    EXPECT_EQ(0, g.vhost("a.com")->http_remux_has_audio);
    EXPECT_EQ(1, g.vhost("a.com")->http_remux_has_video);
    EXPECT_EQ(0, g.vhost("a.com")->http_remux_guess_has_av);
    EXPECT_EQ("t.conf:2: has_audio 'yes' must be on or off",
              load_err("vhost a {\n http_remux { has_audio yes; }\n}\n"));
    EXPECT_EQ("t.conf:1: guess_has_av 'maybe' must be on or off",
              load_err("vhost a { http_remux { guess_has_av maybe; } }\n"));
}

TEST(ConfModel, HlsDefaults) {
    Conf d("vhost a.com { hls { } }\n");
    ASSERT_NE(nullptr, d.c);
    const vhost_conf_t *v = d.vhost("a.com");
    EXPECT_EQ(0, v->hls_enabled);
    EXPECT_DOUBLE_EQ(10.0, v->hls_fragment);
    EXPECT_DOUBLE_EQ(60.0, v->hls_window);
    EXPECT_DOUBLE_EQ(1.5, v->hls_td_ratio);
    EXPECT_DOUBLE_EQ(2.1, v->hls_aof_ratio);
    EXPECT_EQ(1, v->hls_wait_keyframe);
    EXPECT_STREQ("[app]/[stream].m3u8", v->hls_m3u8_file);
    EXPECT_STREQ("[app]/[stream]-[seq].ts", v->hls_ts_file);
    EXPECT_STREQ("./objs/nginx/html", v->hls_path);
    EXPECT_EQ(0, v->hls_path_set) << "no files unless hls_path is given";
    EXPECT_EQ(1, v->hls_cleanup);
    EXPECT_EQ(120, v->hls_dispose);
    EXPECT_EQ(nullptr, v->hls_entry_prefix);
    // a vhost without the block has the same defaults
    EXPECT_EQ(0, d.def()->hls_enabled);
    EXPECT_DOUBLE_EQ(10.0, d.def()->hls_fragment);
    EXPECT_STREQ("[app]/[stream]-[seq].ts", d.def()->hls_ts_file);
}

TEST(ConfModel, HlsValues) {
    Conf d("vhost a.com {\n hls {\n enabled on; hls_fragment 2.5; hls_window 12; hls_td_ratio 2; hls_aof_ratio 1.2;\n"
           " hls_wait_keyframe off; hls_m3u8_file hls/[vhost]/[app]/[stream].m3u8;\n"
           " hls_ts_file hls/[app]/[stream]/[seq].ts; hls_path /tmp/h; hls_cleanup off; hls_dispose 30;\n"
           " hls_entry_prefix http://cdn.example.com/;\n }\n}\n");
    ASSERT_NE(nullptr, d.c);
    const vhost_conf_t *v = d.vhost("a.com");
    EXPECT_EQ(1, v->hls_enabled);
    EXPECT_DOUBLE_EQ(2.5, v->hls_fragment);
    EXPECT_DOUBLE_EQ(12.0, v->hls_window);
    EXPECT_DOUBLE_EQ(2.0, v->hls_td_ratio);
    EXPECT_DOUBLE_EQ(1.2, v->hls_aof_ratio);
    EXPECT_EQ(0, v->hls_wait_keyframe);
    EXPECT_STREQ("hls/[vhost]/[app]/[stream].m3u8", v->hls_m3u8_file);
    EXPECT_STREQ("hls/[app]/[stream]/[seq].ts", v->hls_ts_file);
    EXPECT_STREQ("/tmp/h", v->hls_path);
    EXPECT_EQ(1, v->hls_path_set);
    EXPECT_EQ(0, v->hls_cleanup);
    EXPECT_EQ(30, v->hls_dispose);
    EXPECT_STREQ("http://cdn.example.com/", v->hls_entry_prefix);
}

TEST(ConfModel, HlsBadValues) {
    EXPECT_EQ("t.conf:2: enabled 'yes' must be on or off", load_err("vhost a {\n hls { enabled yes; }\n}\n"));
    EXPECT_EQ("t.conf:1: hls_fragment 'ten' is not a number", load_err("vhost a { hls { hls_fragment ten; } }\n"));
    EXPECT_EQ("t.conf:1: hls_fragment '0' is out of range 0.1..3600",
              load_err("vhost a { hls { hls_fragment 0; } }\n"));
    EXPECT_EQ("t.conf:3: hls_window '-1' is out of range 0.1..86400",
              load_err("vhost a {\n hls {\n hls_window -1; }\n}\n"));
    EXPECT_EQ("t.conf:1: hls_td_ratio '0.5' is out of range 1..100",
              load_err("vhost a { hls { hls_td_ratio 0.5; } }\n"));
    EXPECT_EQ("t.conf:1: hls_aof_ratio 'x' is not a number", load_err("vhost a { hls { hls_aof_ratio x; } }\n"));
    EXPECT_EQ("t.conf:1: hls_wait_keyframe '1' must be on or off",
              load_err("vhost a { hls { hls_wait_keyframe 1; } }\n"));
    EXPECT_EQ("t.conf:1: hls_m3u8_file '[app].m3u8' needs [stream]",
              load_err("vhost a { hls { hls_m3u8_file [app].m3u8; } }\n"));
    EXPECT_EQ("t.conf:1: hls_m3u8_file '[stream]-[seq].m3u8' cannot use [seq]",
              load_err("vhost a { hls { hls_m3u8_file [stream]-[seq].m3u8; } }\n"));
    EXPECT_EQ("t.conf:1: hls_ts_file '[app]/[stream].ts' needs [seq] once",
              load_err("vhost a { hls { hls_ts_file [app]/[stream].ts; } }\n"));
    EXPECT_EQ("t.conf:1: hls_ts_file '[stream]-[2006]-[seq].ts': only [vhost], [app], [stream] and [seq] are supported",
              load_err("vhost a { hls { hls_ts_file [stream]-[2006]-[seq].ts; } }\n"));
    EXPECT_EQ("t.conf:1: hls_ts_file '../[stream]-[seq].ts' must be a relative path without '..'",
              load_err("vhost a { hls { hls_ts_file ../[stream]-[seq].ts; } }\n"));
    EXPECT_EQ("t.conf:1: hls_path '' must not be empty", load_err("vhost a { hls { hls_path ''; } }\n"));
    EXPECT_EQ("t.conf:1: hls_cleanup 'no' must be on or off", load_err("vhost a { hls { hls_cleanup no; } }\n"));
    EXPECT_EQ("t.conf:1: hls_dispose '-5' is out of range 0..86400", load_err("vhost a { hls { hls_dispose -5; } }\n"));
    EXPECT_EQ("t.conf:1: hls_entry_prefix 'http://a b' has a character a URL cannot hold",
              load_err("vhost a { hls { hls_entry_prefix 'http://a b'; } }\n"));
    EXPECT_EQ("t.conf:1: unknown directive 'hls_fragmnet'", load_err("vhost a { hls { hls_fragmnet 2; } }\n"));
}

// The edge's guards (absent names, attempt bounds, waiting plays) and its
// silence detection: defaults, good values, bad values with file:line.
TEST(ConfModel, EdgeGuardAndSilenceDefaults) {
    Conf k("vhost e { cluster { mode remote; origin 127.0.0.1:1935; } }\n");
    ASSERT_NE(nullptr, k.c);
    const vhost_conf_t *v = k.vhost("e");
    EXPECT_EQ(0, v->origin_wait_stream);
    EXPECT_EQ(2000, v->origin_absent_cache);
    EXPECT_EQ(20, v->origin_connect_rate);
    EXPECT_EQ(8, v->origin_connect_inflight);
    EXPECT_EQ(32, v->waiting_plays_per_ip);
    EXPECT_EQ(4, v->origin_silence_factor);
    EXPECT_EQ(300, v->origin_silence_min);
    EXPECT_EQ(0, v->origin_redundancy);
}

TEST(ConfModel, EdgeGuardAndSilenceGoodValues) {
    Conf k("vhost e {\n cluster {\n  mode remote; origin 127.0.0.1:1935;\n"
           "  origin_wait_stream 5000; origin_absent_cache 0; origin_connect_rate 100;\n"
           "  origin_connect_inflight 2; waiting_plays_per_ip 4;\n"
           "  origin_silence_factor 0; origin_silence_min 500; origin_redundancy on;\n }\n}\n");
    ASSERT_NE(nullptr, k.c);
    const vhost_conf_t *v = k.vhost("e");
    EXPECT_EQ(5000, v->origin_wait_stream);
    EXPECT_EQ(0, v->origin_absent_cache);
    EXPECT_EQ(100, v->origin_connect_rate);
    EXPECT_EQ(2, v->origin_connect_inflight);
    EXPECT_EQ(4, v->waiting_plays_per_ip);
    EXPECT_EQ(0, v->origin_silence_factor);
    EXPECT_EQ(500, v->origin_silence_min);
    EXPECT_EQ(1, v->origin_redundancy);
}

TEST(ConfModel, EdgeGuardAndSilenceBadValues) {
    EXPECT_EQ("t.conf:2: origin_wait_stream '-1' is out of range 0..3600000",
              load_err("vhost e {\n cluster { origin_wait_stream -1; }\n}\n"));
    EXPECT_EQ("t.conf:1: origin_absent_cache 'soon' is not a number",
              load_err("vhost e { cluster { origin_absent_cache soon; } }\n"));
    EXPECT_EQ("t.conf:3: origin_connect_rate '0' is out of range 1..100000",
              load_err("vhost e {\n cluster {\n origin_connect_rate 0; }\n}\n"));
    EXPECT_EQ("t.conf:1: origin_connect_inflight '0' is out of range 1..100000",
              load_err("vhost e { cluster { origin_connect_inflight 0; } }\n"));
    EXPECT_EQ("t.conf:1: waiting_plays_per_ip '100001' is out of range 1..100000",
              load_err("vhost e { cluster { waiting_plays_per_ip 100001; } }\n"));
    EXPECT_EQ("t.conf:1: origin_silence_factor '101' is out of range 0..100",
              load_err("vhost e { cluster { origin_silence_factor 101; } }\n"));
    EXPECT_EQ("t.conf:1: origin_silence_min '5' is out of range 10..3600000",
              load_err("vhost e { cluster { origin_silence_min 5; } }\n"));
    EXPECT_EQ("t.conf:2: origin_redundancy 'both' must be on or off",
              load_err("vhost e {\n cluster { origin_redundancy both; }\n}\n"));
    EXPECT_EQ("t.conf:1: directive 'origin_silence_min' takes 1 argument, got 2",
              load_err("vhost e { cluster { origin_silence_min 1 2; } }\n"));
}
