#!/usr/bin/env bash
# A whole rill cluster on loopback: two master origins, two slaves, two
# edges, haproxy (the RTMP fronts: players to the edges, encoders to the
# masters) and nginx (the HTTP-FLV front). Run
# `scripts/cluster.sh help` for the commands, the address table and the
# environment variables. doc/cluster.md explains the topology.
#
# Every process is started by this script as a plain process (never a system
# service) in its own session, its pid written to $RILL_CLUSTER_DIR/NAME.pid;
# `down` stops exactly those pids (after checking that each still runs what
# was started), nothing found by name. Every wait is bounded.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

# ---------------------------------------------------------------- settings

MASTER_IP=${RILL_MASTER_IP:-127.0.0.11}
MASTER2_IP=${RILL_MASTER2_IP:-127.0.0.14}
SLAVE1_IP=${RILL_SLAVE1_IP:-127.0.0.12}
SLAVE2_IP=${RILL_SLAVE2_IP:-127.0.0.13}
EDGE1_IP=${RILL_EDGE1_IP:-127.0.0.21}
EDGE2_IP=${RILL_EDGE2_IP:-127.0.0.22}
FRONT_IP=${RILL_FRONT_IP:-127.0.0.1}
SOURCE_IP=${RILL_FRONT_SOURCE_IP:-127.0.0.9}
NODE_RTMP=${RILL_NODE_RTMP_PORT:-1935}
NODE_HTTP=${RILL_NODE_HTTP_PORT:-8080}
NODE_API=${RILL_NODE_API_PORT:-1985}
FRONT_RTMP=${RILL_FRONT_RTMP_PORT:-1935}
FRONT_PUBLISH=${RILL_FRONT_PUBLISH_PORT:-1936}
FRONT_HTTP=${RILL_FRONT_HTTP_PORT:-8080}
FRONT_STATS=${RILL_FRONT_STATS_PORT:-8404}
DIR=${RILL_CLUSTER_DIR:-objs/cluster}
BIN=${RILL_CLUSTER_BIN:-objs/rill}
STREAM=${RILL_STREAM:-livestream}
UP_TIMEOUT=${RILL_UP_TIMEOUT:-20}
HAPROXY=${RILL_HAPROXY:-haproxy}
NGINX=${RILL_NGINX:-nginx}

case "$DIR" in /*) ;; *) DIR="$ROOT/$DIR" ;; esac
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac

# name ip role-conf default-address-of-the-role-file
NODES=(master master2 slave1 slave2 edge1 edge2)
declare -A IP=([master]=$MASTER_IP [master2]=$MASTER2_IP [slave1]=$SLAVE1_IP [slave2]=$SLAVE2_IP
               [edge1]=$EDGE1_IP [edge2]=$EDGE2_IP)
declare -A ROLE=([master]=conf/origin.conf [master2]=conf/origin.conf [slave1]=conf/slave.conf [slave2]=conf/slave.conf
                 [edge1]=conf/edge.conf [edge2]=conf/edge.conf)

usage() {
    local dir
    dir=$(rel "$DIR")
    cat <<EOF
usage: scripts/cluster.sh up [--demo] | up --hosts [--demo] | down | status | run [--demo] | confs | help

  up      make the confs in $dir from conf/, check them, start the
          cluster (objs/rill, release build, made if missing; haproxy;
          nginx), wait until every part answers (at most RILL_UP_TIMEOUT s
          each), print the URLs. --demo also publishes a test pattern with
          ffmpeg to the front (rtmp://FRONT/live/$STREAM).
  up --hosts [--demo]
          (root) the same cluster with every node on a host of its own (a
          network namespace on a bridge, addresses in 198.18.0.0/15) and
          two balancer hosts with haproxy, nginx and keepalived holding
          one VIP; players reach it from the namespace rill-client
          (doc/cluster.md, "Separate hosts")
  down    stop what up started (by the pids in $dir/*.pid); with --hosts,
          also remove the namespaces
  status  each node: pid, alive, health, its streams (from its API);
          the front: pid, alive, which edges haproxy has up
  run     up, then the node logs in the foreground until Ctrl-C, then down
          (what \`make run\` does; \`make run DEMO=1\` adds --demo)
  confs   only make and check the confs in $dir (to read them)

Addresses (as the environment sets them now):

  node     address          RTMP   HTTP   API    made from
  master   $(printf '%-16s %-6s %-6s %-6s' "$MASTER_IP" "$NODE_RTMP" "$NODE_HTTP" "$NODE_API") conf/origin.conf
  master2  $(printf '%-16s %-6s %-6s %-6s' "$MASTER2_IP" "$NODE_RTMP" "$NODE_HTTP" "$NODE_API") conf/origin.conf (127.0.0.11 replaced)
  slave1   $(printf '%-16s %-6s %-6s %-6s' "$SLAVE1_IP" "$NODE_RTMP" "$NODE_HTTP" "$NODE_API") conf/slave.conf
  slave2   $(printf '%-16s %-6s %-6s %-6s' "$SLAVE2_IP" "$NODE_RTMP" "$NODE_HTTP" "$NODE_API") conf/slave.conf
  edge1    $(printf '%-16s %-6s %-6s %-6s' "$EDGE1_IP" "$NODE_RTMP*" "$NODE_HTTP" "$NODE_API") conf/edge.conf
  edge2    $(printf '%-16s %-6s %-6s %-6s' "$EDGE2_IP" "$NODE_RTMP*" "$NODE_HTTP" "$NODE_API") conf/edge.conf
  haproxy  $(printf '%-16s %-6s %-6s %-6s' "$FRONT_IP" "$FRONT_RTMP" "-" "-") conf/haproxy.cfg (stats :$FRONT_STATS; to the edges from $SOURCE_IP)
           $(printf '%-16s %-6s %-6s %-6s' "$FRONT_IP" "$FRONT_PUBLISH" "-" "-") publishers, to a live master
  nginx    $(printf '%-16s %-6s %-6s %-6s' "$FRONT_IP" "-" "$FRONT_HTTP" "-") conf/nginx-front.conf
  (* PROXY protocol: RTMP to an edge only through haproxy)

Environment (defaults in brackets):
  RILL_MASTER_IP [127.0.0.11]  RILL_MASTER2_IP [127.0.0.14]
  RILL_SLAVE1_IP [127.0.0.12]  RILL_SLAVE2_IP [127.0.0.13]
  RILL_EDGE1_IP [127.0.0.21]   RILL_EDGE2_IP [127.0.0.22]
  RILL_FRONT_IP [127.0.0.1]    the address haproxy and nginx listen on
  RILL_FRONT_SOURCE_IP [127.0.0.9]  haproxy's source address towards the edges
  RILL_NODE_RTMP_PORT [1935]   RILL_NODE_HTTP_PORT [8080]  RILL_NODE_API_PORT [1985]
                               (every node, each on its own address)
  RILL_FRONT_RTMP_PORT [1935]  RILL_FRONT_HTTP_PORT [8080] RILL_FRONT_STATS_PORT [8404]
  RILL_FRONT_PUBLISH_PORT [1936]  haproxy's front for publishers (to the masters)
  RILL_CLUSTER_DIR [objs/cluster]  confs, pid files and logs (NAME.log)
  RILL_CLUSTER_BIN [objs/rill]     the rill binary
  RILL_STREAM [livestream]     the stream name in the printed URLs and of --demo
  RILL_UP_TIMEOUT [20]         seconds each part may take to answer
  --hosts only: RILL_HOSTS_NET [198.18.0] (in 198.18.0.0/15), RILL_NETNS_PREFIX [rill],
               RILL_VIP_OCTET [10]; node 127.0.0.N becomes host RILL_HOSTS_NET.N,
               lb1 .31, lb2 .32, the client .100
  Addresses must be in 127.0.0.0/8: this script is the loopback cluster; on
  real hosts use the files in conf/ (doc/cluster.md).
EOF
}

say() { echo "cluster: $*"; }
rel() { echo "${1#"$ROOT"/}"; }
die() { echo "cluster: ERROR: $*" >&2; exit 1; }

check_settings() {
    local v
    for v in "$MASTER_IP" "$MASTER2_IP" "$SLAVE1_IP" "$SLAVE2_IP" "$EDGE1_IP" "$EDGE2_IP" "$FRONT_IP" "$SOURCE_IP"; do
        [[ "$v" =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die "address '$v' is not in 127.0.0.0/8"
    done
    for v in "$NODE_RTMP" "$NODE_HTTP" "$NODE_API" "$FRONT_RTMP" "$FRONT_PUBLISH" "$FRONT_HTTP" "$FRONT_STATS" \
             "$UP_TIMEOUT"; do
        [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] && [ "$v" -le 65535 ] || die "'$v' is not a port (or a number of seconds)"
    done
}

# ---------------------------------------------------------------- confs

# render SRC DST [DEFAULT_SELF_IP TOKEN]: copy a role file with its default
# addresses (the table in doc/cluster.md) and ports replaced by this
# cluster's. The default addresses become tokens first, so that one address
# never turns into another by a later replacement. DEFAULT_SELF_IP TOKEN
# makes a second node from a role file (slave2 from slave.conf's
# 127.0.0.12, edge2 from edge.conf's 127.0.0.21, master2 from origin.conf's
# 127.0.0.11).
render() {
    local src=$1 dst=$2 self_ip=${3:-} self_tok=${4:-}
    # Comment lines are kept as they are (they describe the role file's
    # defaults); only directives change.
    local e=(-e '/^[[:space:]]*#/b')
    if [ -n "$self_ip" ]; then
        e+=(-e "s/${self_ip//./\\.}([^0-9]|\$)/@${self_tok}@\\1/g")
    fi
    e+=(-e 's/127\.0\.0\.11([^0-9]|$)/@MASTER@\1/g'
        -e 's/127\.0\.0\.14([^0-9]|$)/@MASTER2@\1/g'
        -e 's/127\.0\.0\.12([^0-9]|$)/@SLAVE1@\1/g'
        -e 's/127\.0\.0\.13([^0-9]|$)/@SLAVE2@\1/g'
        -e 's/127\.0\.0\.21([^0-9]|$)/@EDGE1@\1/g'
        -e 's/127\.0\.0\.22([^0-9]|$)/@EDGE2@\1/g'
        -e 's/(set_real_ip_from[[:space:]]+)127\.0\.0\.9;/\1@SOURCE@;/')
    case "$src" in
    *haproxy.cfg|*nginx-front.conf)
        e+=(-e 's/127\.0\.0\.9([^0-9]|$)/@SOURCE@\1/g'
            -e 's/127\.0\.0\.1([^0-9]|$)/@FRONT@\1/g'
            -e 's/@FRONT@:1935([^0-9]|$)/@FRONT@:@FRTMP@\1/g'
            -e 's/@FRONT@:1936([^0-9]|$)/@FRONT@:@FPUB@\1/g'
            -e 's/@FRONT@:8080([^0-9]|$)/@FRONT@:@FHTTP@\1/g'
            -e 's/@FRONT@:8404([^0-9]|$)/@FRONT@:@FSTATS@\1/g'
            -e 's/(server[[:space:]].*[[:space:]]port[[:space:]]+)1985([^0-9]|$)/\1@NAPI@\2/') ;;
    esac
    e+=(-e 's/(@(MASTER|MASTER2|SLAVE1|SLAVE2|EDGE1|EDGE2)@):1935([^0-9]|$)/\1:@NRTMP@\3/g'
        -e 's/(@(MASTER|MASTER2|SLAVE1|SLAVE2|EDGE1|EDGE2)@):8080([^0-9]|$)/\1:@NHTTP@\3/g'
        -e 's/(@(MASTER|MASTER2|SLAVE1|SLAVE2|EDGE1|EDGE2)@):1985([^0-9]|$)/\1:@NAPI@\3/g'
        -e "s/@MASTER@/$MASTER_IP/g; s/@MASTER2@/$MASTER2_IP/g; s/@SLAVE1@/$SLAVE1_IP/g; s/@SLAVE2@/$SLAVE2_IP/g"
        -e "s/@EDGE1@/$EDGE1_IP/g; s/@EDGE2@/$EDGE2_IP/g; s/@FRONT@/$FRONT_IP/g; s/@SOURCE@/$SOURCE_IP/g"
        -e "s/@NRTMP@/$NODE_RTMP/g; s/@NHTTP@/$NODE_HTTP/g; s/@NAPI@/$NODE_API/g"
        -e "s/@FRTMP@/$FRONT_RTMP/g; s/@FPUB@/$FRONT_PUBLISH/g; s/@FHTTP@/$FRONT_HTTP/g; s/@FSTATS@/$FRONT_STATS/g")
    {
        echo "# Made by scripts/cluster.sh from $src for the loopback cluster: the addresses,"
        echo "# ports and paths of the directives are this cluster's; the comments keep the"
        echo "# role file's defaults."
        sed -E "${e[@]}" "$src"
    } > "$dst"
}

make_confs() {
    mkdir -p "$DIR" || die "cannot create $DIR"
    local n
    for n in "${NODES[@]}"; do
        local self=() f="$DIR/$n.conf"
        case $n in
        master2) self=(127.0.0.11 MASTER2) ;;
        slave2) self=(127.0.0.12 SLAVE2) ;;
        edge2)  self=(127.0.0.21 EDGE2) ;;
        esac
        render "${ROLE[$n]}" "$f.tmp" "${self[@]}" || die "cannot write $f"
        # Paths: pid and log files here, static files (the player page) from
        # the source tree's objs/nginx/html whatever the working directory.
        sed -E -e "s#^([[:space:]]*pid[[:space:]]+)[^;]*;#\\1$DIR/$n.pid;#" \
               -e "s#^([[:space:]]*srs_log_file[[:space:]]+)[^;]*;#\\1$DIR/$n.log;#" \
               -e "s#^([[:space:]]*dir[[:space:]]+)\\./objs/nginx/html;#\\1$ROOT/objs/nginx/html;#" \
               "$f.tmp" > "$f" && rm -f "$f.tmp" || die "cannot write $f"
        "$BIN" -t -c "$f" >/dev/null 2>"$DIR/$n.check" || die "$f: $(cat "$DIR/$n.check")"
        rm -f "$DIR/$n.check"
    done
    render conf/haproxy.cfg "$DIR/haproxy.cfg" || die "cannot write $DIR/haproxy.cfg"
    "$HAPROXY" -c -q -f "$DIR/haproxy.cfg" >"$DIR/haproxy.check" 2>&1 \
        || die "$DIR/haproxy.cfg: $(cat "$DIR/haproxy.check")"
    rm -f "$DIR/haproxy.check"
    mkdir -p "$DIR/nginx/tmp" "$DIR/nginx/logs"
    render conf/nginx-front.conf "$DIR/nginx.conf.tmp" || die "cannot write $DIR/nginx.conf"
    sed -E -e "s#/run/nginx-rill-front\\.pid#$DIR/nginx.pid#" \
           -e "s#/var/log/nginx/rill-front\\.([a-z]+)\\.log#$DIR/nginx.\\1.log#" \
           -e "s#/var/lib/nginx/#$DIR/nginx/tmp/#" \
           "$DIR/nginx.conf.tmp" > "$DIR/nginx.conf" && rm -f "$DIR/nginx.conf.tmp"
    "$NGINX" -t -q -p "$DIR/nginx" -c "$DIR/nginx.conf" -e "$DIR/nginx.error.log" -g 'daemon off;' \
        >"$DIR/nginx.check" 2>&1 || die "$DIR/nginx.conf: $(cat "$DIR/nginx.check")"
    rm -f "$DIR/nginx.check"
}

# ---------------------------------------------------------------- processes

# The command line a pid file's process must still have for us to touch it:
# its conf path (every process started here names its own conf in $DIR).
pid_ok() {   # pid_ok NAME -> prints the pid when it runs what we started
    local f="$DIR/$1.pid" pid
    [ -f "$f" ] || return 1
    pid=$(head -c 20 "$f" | tr -dc 0-9)
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$DIR/" || return 1
    echo "$pid"
}

# Is anything listening on IP:PORT (TCP)? From /proc/net/tcp: no
# connection to the port, so no log line on the node.
listening() {
    local ip=$1 port=$2 hex
    hex=$(printf '%02X%02X%02X%02X:%04X' $(echo "$ip" | awk -F. '{print $4, $3, $2, $1}') "$port")
    awk -v a="$hex" '$2 == a && $4 == "0A" {f=1} END {exit !f}' /proc/net/tcp
}

http_ok() {  # http_ok URL: 2xx within 1 s
    curl -s -o /dev/null --max-time 1 -f "$1"
}

# wait_for WHAT PIDNAME SECONDS CMD...: until CMD succeeds, the process dies, or time runs out.
wait_for() {
    local what=$1 name=$2 secs=$3
    shift 3
    local deadline=$((SECONDS + secs))
    while :; do
        if ! pid_ok "$name" >/dev/null; then
            echo "cluster: ERROR: $what exited; last lines of $DIR/$name.log:" >&2
            tail -n 15 "$DIR/$name.log" >&2 2>/dev/null
            return 1
        fi
        "$@" && return 0
        if [ $SECONDS -ge $deadline ]; then
            echo "cluster: ERROR: $what did not answer within ${secs}s; last lines of $DIR/$name.log:" >&2
            tail -n 15 "$DIR/$name.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
}

# spawn NAME CMD...: start CMD in its own session (Ctrl-C in the terminal
# does not reach it; `down` stops it), output to NAME.log, pid to NAME.pid.
spawn() {
    local name=$1
    shift
    setsid "$@" </dev/null >>"$DIR/$name.log" 2>&1 &
    echo $! > "$DIR/$name.pid"
}

node_up() {
    local n=$1 ip=${IP[$1]}
    node_ready() { listening "$ip" "$NODE_RTMP" && http_ok "http://$ip:$NODE_API/api/v1/health"; }
    wait_for "$n ($ip)" "$n" "$UP_TIMEOUT" node_ready
}

# HAProxy sees both edges and both masters up.
backends_up_in_haproxy() {
    local csv
    csv=$(curl -s --max-time 1 "http://$FRONT_IP:$FRONT_STATS/;csv") || return 1
    [ "$(echo "$csv" | awk -F, '$1 == "edges" && ($2 == "edge1" || $2 == "edge2") && $18 == "UP"' | wc -l)" -eq 2 ] &&
    [ "$(echo "$csv" | awk -F, '$1 == "masters" && ($2 == "master1" || $2 == "master2") && $18 == "UP"' | wc -l)" -eq 2 ]
}

front_http_ok() {
    listening "$FRONT_IP" "$FRONT_HTTP" && curl -s -o /dev/null --max-time 1 "http://$FRONT_IP:$FRONT_HTTP/players/"
}

print_urls() {
    local r="rtmp://$FRONT_IP:$FRONT_RTMP/live/$STREAM" h="http://$FRONT_IP:$FRONT_HTTP/live/$STREAM.flv"
    local p="rtmp://$FRONT_IP:$FRONT_PUBLISH/live/$STREAM"
    cat <<EOF

  publish:        $p    (haproxy -> a live master)
                  (or through an edge: $r; or straight to a master:
                   rtmp://$MASTER_IP:$NODE_RTMP/live/$STREAM, rtmp://$MASTER2_IP:$NODE_RTMP/live/$STREAM)
                  ffmpeg -re -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine \\
                         -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -c:a aac -f flv $p
  play RTMP:      ffplay $r    (or: vlc $r)
  play HTTP-FLV:  ffplay $h
  player page:    http://$FRONT_IP:$FRONT_HTTP/players/index.html?url=$h
  haproxy stats:  http://$FRONT_IP:$FRONT_STATS/
  logs:           $(rel "$DIR")/*.log     status: scripts/cluster.sh status     stop: scripts/cluster.sh down

EOF
}

cmd_up() {
    local demo=${1:-}
    check_settings
    local n
    for n in "${NODES[@]}" haproxy nginx demo; do
        pid_ok "$n" >/dev/null && die "$n is already running (pid $(pid_ok "$n")): scripts/cluster.sh down first"
    done
    command -v "$HAPROXY" >/dev/null || die "haproxy is missing (bash scripts/install-deps.sh)"
    command -v "$NGINX" >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is missing (bash scripts/install-deps.sh)"
    command -v "$NGINX" >/dev/null || NGINX=/usr/sbin/nginx
    command -v curl >/dev/null || die "curl is missing (bash scripts/install-deps.sh)"
    if [ ! -x "$BIN" ]; then
        [ "$BIN" = "$ROOT/objs/rill" ] || die "$BIN is not there"
        say "building objs/rill"
        make --no-print-directory objs/rill >/dev/null || die "make objs/rill failed"
    fi
    # Ports already taken (another cluster, a single rill, a system nginx):
    # say which, rather than a bind error in a log.
    local busy=()
    for n in "${NODES[@]}"; do
        local p
        for p in "$NODE_RTMP" "$NODE_HTTP" "$NODE_API"; do
            listening "${IP[$n]}" "$p" && busy+=("${IP[$n]}:$p")
        done
    done
    for p in "$FRONT_RTMP" "$FRONT_PUBLISH" "$FRONT_HTTP" "$FRONT_STATS"; do
        listening "$FRONT_IP" "$p" && busy+=("$FRONT_IP:$p")
    done
    for p in $(printf '%s\n' "$NODE_RTMP" "$NODE_HTTP" "$NODE_API" "$FRONT_RTMP" "$FRONT_PUBLISH" "$FRONT_HTTP" \
                              "$FRONT_STATS" | sort -u); do
        listening 0.0.0.0 "$p" && busy+=("0.0.0.0:$p")
    done
    [ ${#busy[@]} -eq 0 ] || die "already in use: ${busy[*]} (move ports with the RILL_*_PORT variables: scripts/cluster.sh help)"

    make_confs
    rm -f "$DIR"/*.log "$DIR"/*.pid
    say "starting in $(rel "$DIR") (logs: $(rel "$DIR")/NAME.log)"
    # Origins first, then edges, then the fronts, each waited for, so the
    # fronts' health checks find the edges up.
    for n in "${NODES[@]}"; do
        spawn "$n" "$BIN" -c "$DIR/$n.conf"
    done
    for n in "${NODES[@]}"; do
        node_up "$n" || { cmd_down >/dev/null; exit 1; }
        say "$(printf '%-7s %-15s pid %-7s rtmp :%s  http :%s  api :%s' "$n" "${IP[$n]}" "$(pid_ok "$n")" "$NODE_RTMP" "$NODE_HTTP" "$NODE_API")"
    done
    spawn haproxy "$HAPROXY" -db -f "$DIR/haproxy.cfg"
    wait_for "haproxy" haproxy "$UP_TIMEOUT" backends_up_in_haproxy || { cmd_down >/dev/null; exit 1; }
    say "$(printf '%-7s %-15s pid %-7s rtmp :%s (both edges up), publish :%s (both masters up)' haproxy "$FRONT_IP" \
           "$(pid_ok haproxy)" "$FRONT_RTMP" "$FRONT_PUBLISH")"
    spawn nginx "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx.conf" -e "$DIR/nginx.error.log" -g 'daemon off;'
    wait_for "nginx" nginx "$UP_TIMEOUT" front_http_ok || { cmd_down >/dev/null; exit 1; }
    say "$(printf '%-7s %-15s pid %-7s http :%s' nginx "$FRONT_IP" "$(pid_ok nginx)" "$FRONT_HTTP")"
    if [ "$demo" = "--demo" ]; then
        command -v ffmpeg >/dev/null || die "ffmpeg is missing (bash scripts/install-deps.sh)"
        spawn demo ffmpeg -nostdin -hide_banner -loglevel warning -re \
            -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
            -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -sc_threshold 0 \
            -b:v 1M -maxrate 1M -bufsize 1M -c:a aac \
            -f flv "rtmp://$FRONT_IP:$FRONT_PUBLISH/live/$STREAM" -progress "$DIR/demo.progress.$$"
        # -progress names a file in $DIR so that pid_ok recognises it.
        local deadline=$((SECONDS + UP_TIMEOUT))
        on_a_master() {
            local ip
            for ip in "$MASTER_IP" "$MASTER2_IP"; do
                curl -s --max-time 1 "http://$ip:$NODE_API/api/v1/streams" | grep -q "\"name\":\"$STREAM\"" && return 0
            done
            return 1
        }
        until on_a_master; do
            pid_ok demo >/dev/null || { tail -n 5 "$DIR/demo.log" >&2; die "the demo publisher (ffmpeg) exited"; }
            [ $SECONDS -lt $deadline ] || die "the demo stream did not reach a master within ${UP_TIMEOUT}s"
            sleep 0.2
        done
        say "demo    publishing a test pattern to rtmp://$FRONT_IP:$FRONT_PUBLISH/live/$STREAM (pid $(pid_ok demo))"
    fi
    print_urls
}

# stop NAME: SIGTERM the recorded pid, SIGKILL after 10 s; waits for it.
stop_one() {
    local n=$1 pid
    pid=$(pid_ok "$n") || { rm -f "$DIR/$n.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    local i
    for i in $(seq 100); do
        [ -d "/proc/$pid" ] || break
        # a zombie of ours is gone for every purpose
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
        say "$n (pid $pid) still running 10 s after SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        for i in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
    say "stopped $n (pid $pid)"
    rm -f "$DIR/$n.pid"
}

cmd_down() {
    local n
    # The publisher and the fronts first (no new clients), then the edges,
    # then the origins.
    for n in demo haproxy nginx edge1 edge2 slave1 slave2 master master2; do
        stop_one "$n"
    done
    rm -f "$DIR"/demo.progress.*
}

api_get() { curl -s --max-time 1 "$1"; }

cmd_status() {
    local n any=0
    printf '%-8s %-15s %-8s %-7s %-8s %s\n' node address pid alive health streams
    for n in "${NODES[@]}"; do
        local ip=${IP[$n]} pid alive=no health=- streams=-
        pid=$(head -c 20 "$DIR/$n.pid" 2>/dev/null | tr -dc 0-9)
        if pid_ok "$n" >/dev/null; then alive=yes; any=1; fi
        if http_ok "http://$ip:$NODE_API/api/v1/health"; then health=ok; else health=down; fi
        if [ "$health" = ok ]; then
            streams=$(api_get "http://$ip:$NODE_API/api/v1/streams" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("?"); sys.exit()
out = []
for s in d.get("streams", []):
    what = []
    if s.get("publish", {}).get("active"):
        what.append("published")
    up = s.get("upstream")
    if up:
        what.append("from %s (%s)" % (up.get("origin") or "-", up.get("state")))
    fw = s.get("forwarders") or []
    if fw:
        what.append("forwarded to " + " ".join("%s (%s)" % (f.get("destination"), f.get("state")) for f in fw))
    pub = s.get("publish", {})
    # clients: the players and the publisher (forwards and upstreams are not clients)
    what.append("%d players" % (s.get("clients", 0) - (1 if pub.get("active") and "cid" in pub else 0)))
    out.append("%s/%s: %s" % (s.get("app"), s.get("name"), ", ".join(what)))
print(", ".join(out) or "none")' 2>/dev/null)
        fi
        printf '%-8s %-15s %-8s %-7s %-8s %s\n' "$n" "$ip" "${pid:--}" "$alive" "$health" "$streams"
    done
    for n in haproxy nginx demo; do
        local pid alive=no info=""
        pid=$(head -c 20 "$DIR/$n.pid" 2>/dev/null | tr -dc 0-9)
        [ -n "$pid" ] || { [ "$n" = demo ] && continue; }
        if pid_ok "$n" >/dev/null; then alive=yes; any=1; fi
        case $n in
        haproxy)
            info="rtmp $FRONT_IP:$FRONT_RTMP, publish $FRONT_IP:$FRONT_PUBLISH"
            if [ $alive = yes ]; then
                local csv
                csv=$(api_get "http://$FRONT_IP:$FRONT_STATS/;csv")
                info+=", edges: $(echo "$csv" | awk -F, '$1 == "edges" && $2 != "BACKEND" {printf "%s %s (%s sessions) ", $2, $18, $5}')"
                info+=", masters: $(echo "$csv" | awk -F, '$1 == "masters" && $2 != "BACKEND" {printf "%s %s (%s sessions) ", $2, $18, $5}')"
            fi ;;
        nginx) info="http $FRONT_IP:$FRONT_HTTP" ;;
        demo) info="publishing rtmp://$FRONT_IP:$FRONT_PUBLISH/live/$STREAM" ;;
        esac
        printf '%-8s %-15s %-8s %-7s %s\n' "$n" "$FRONT_IP" "${pid:--}" "$alive" "$info"
    done
    [ $any = 1 ] || say "not running (scripts/cluster.sh up)"
}

stop_run() {
    # Output may be a pipe whose reader got the Ctrl-C too (make run | tee):
    # stopping must not die of SIGPIPE half way.
    trap '' INT TERM HUP PIPE
    echo
    [ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null
    cmd_down
}

# run: up, show the logs, down on Ctrl-C (SIGINT), SIGTERM or SIGHUP.
cmd_run() {
    local demo=${1:-}
    TAIL_PID=
    trap 'stop_run; exit 0' INT TERM HUP
    cmd_up "$demo" || exit 1
    say "Ctrl-C stops the cluster. Node logs follow (haproxy health checks left out):"
    local files=()
    for n in "${NODES[@]}" haproxy; do files+=("$DIR/$n.log"); done
    files+=("$DIR/nginx.error.log")
    [ "$demo" = "--demo" ] && files+=("$DIR/demo.log")
    # One tail for every log, its "==> file <==" headers turned into a
    # prefix on each line. In the background (so the trap runs at once);
    # background jobs of a script ignore SIGINT, so the trap stops it by pid.
    tail -n 3 -F "${files[@]}" 2>/dev/null > >(awk '
        /^==> .* <==$/ { n = $2; sub(/.*\//, "", n); sub(/\.log$/, "", n); sub(/\.error$/, "", n); next }
        /api\/v1\/health/ { next }
        NF { printf "[%-7s] %s\n", n, $0; fflush() }') &
    TAIL_PID=$!
    # A part that stops by itself (a crash, or a kill to watch a failover)
    # is reported once; the rest keeps running until Ctrl-C.
    declare -A gone=()
    while :; do
        sleep 1 &
        wait $! 2>/dev/null
        for n in "${NODES[@]}" haproxy nginx; do
            if [ -z "${gone[$n]:-}" ] && ! pid_ok "$n" >/dev/null; then
                gone[$n]=1
                say "$n has stopped (see $(rel "$DIR")/$n.log); Ctrl-C stops the rest"
            fi
        done
    done
}

# The separate-hosts mode (up --hosts): its own functions.
source "$ROOT/scripts/cluster_hosts.sh"

case "${1:-help}" in
up)     if [ "${2:-}" = --hosts ]; then hosts_up "${3:-}"; else cmd_up "${2:-}"; fi ;;
down)   if hosts_active; then hosts_down; else cmd_down; fi ;;
status) if hosts_active; then hosts_status; else cmd_status; fi ;;
run)    cmd_run "${2:-}" ;;
confs)  check_settings; make_confs; say "confs in $(rel "$DIR"): $(cd "$DIR" && ls -- *.conf *.cfg | tr '\n' ' ')" ;;
help|-h|--help) usage ;;
*)      usage >&2; exit 2 ;;
esac
