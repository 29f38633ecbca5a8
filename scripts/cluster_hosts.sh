# The cluster on separate hosts: sourced by scripts/cluster.sh for
# `up --hosts` (root only). Every node gets a network namespace of its own
# ("host") with one address on a shared bridge, and the front becomes two
# balancer hosts (lb1, lb2), each with HAProxy and nginx, holding one
# virtual IP with keepalived (VRRP). A client namespace stands for the
# players and encoders outside. doc/cluster.md, "Separate hosts".
#
# Only addresses of $RILL_HOSTS_NET (in 198.18.0.0/15, the range reserved
# for network tests) are used, and only inside the namespaces made here:
# the bridge itself lives in a namespace of its own, so the machine's own
# network is never touched. What was made is listed in $DIR/hosts.netns;
# `down` (and any failure of `up`) removes exactly that.

HOSTS_NET=${RILL_HOSTS_NET:-198.18.0}          # the first three octets
NSP=${RILL_NETNS_PREFIX:-rill}                  # namespace names: $NSP-NAME
VIP=$HOSTS_NET.${RILL_VIP_OCTET:-10}
declare -A LB_IP=([lb1]=$HOSTS_NET.31 [lb2]=$HOSTS_NET.32)
CLIENT_IP=$HOSTS_NET.100
LBS=(lb1 lb2)

hosts_file() { echo "$DIR/hosts.netns"; }
hosts_active() { [ -f "$(hosts_file)" ]; }
ns_of() { echo "$NSP-$1"; }
# in_ns NAME CMD...: CMD inside host NAME's namespace.
in_ns() { local n=$1; shift; ip netns exec "$(ns_of "$n")" "$@"; }

# A node's address on the bridge: its loopback address's last octet in
# $HOSTS_NET (127.0.0.11 -> 198.18.0.11), so every node of the loopback
# plan, whatever its number, has a host of its own.
host_ip() { echo "$HOSTS_NET.${IP[$1]##*.}"; }

hosts_check_settings() {
    [ "$(id -u)" -eq 0 ] || die "--hosts needs root (network namespaces)"
    command -v ip >/dev/null || die "ip (iproute2) is missing (bash scripts/install-deps.sh)"
    command -v keepalived >/dev/null || die "keepalived is missing (bash scripts/install-deps.sh)"
    [[ "$HOSTS_NET" =~ ^198\.(18|19)\.([0-9]{1,3})$ ]] && [ "${BASH_REMATCH[2]}" -le 255 ] \
        || die "RILL_HOSTS_NET '$HOSTS_NET' must be three octets in 198.18.0.0/15 (e.g. 198.18.0)"
    [[ "$NSP" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "RILL_NETNS_PREFIX '$NSP' must be 1-8 of [a-z0-9]"
    local n o seen=" ${VIP##*.} ${LB_IP[lb1]##*.} ${LB_IP[lb2]##*.} ${CLIENT_IP##*.} "
    for n in "${NODES[@]}"; do
        o=${IP[$n]##*.}
        case "$seen" in *" $o "*) die "$n's address ${IP[$n]} would be $HOSTS_NET.$o, which is taken" ;; esac
        seen+="$o "
    done
}

# ---------------------------------------------------------------- network

# hosts_net_up: the bridge namespace, then one namespace per host with a
# veth whose other end is on the bridge. Each step is recorded before it is
# made, so a failure half way is undone by hosts_net_down.
hosts_net_up() {
    local f br n ip
    f=$(hosts_file)
    br=$(ns_of net)
    for n in net "${NODES[@]}" "${LBS[@]}" client; do
        ip netns list | grep -qw -- "$(ns_of "$n")" && die "namespace $(ns_of "$n") exists: scripts/cluster.sh down first"
    done
    echo "$br" >> "$f"
    ip netns add "$br" || return 1
    ip -n "$br" link set lo up || return 1
    ip -n "$br" link add br0 type bridge || return 1
    # no STP: a test network; forward at once
    ip -n "$br" link set br0 type bridge forward_delay 0 stp_state 0 || return 1
    ip -n "$br" link set br0 up || return 1
    for n in "${NODES[@]}" "${LBS[@]}" client; do
        case $n in
        lb1|lb2) ip=${LB_IP[$n]} ;;
        client)  ip=$CLIENT_IP ;;
        *)       ip=$(host_ip "$n") ;;
        esac
        echo "$(ns_of "$n")" >> "$f"
        ip netns add "$(ns_of "$n")" || return 1
        # eth0 in the host, v-NAME on the bridge; made in place, never in
        # the machine's own namespace.
        ip link add name eth0 netns "$(ns_of "$n")" type veth peer name "v-$n" netns "$br" || return 1
        ip -n "$br" link set "v-$n" master br0 up || return 1
        ip -n "$(ns_of "$n")" link set lo up || return 1
        ip -n "$(ns_of "$n")" addr add "$ip/24" dev eth0 || return 1
        ip -n "$(ns_of "$n")" link set eth0 up || return 1
    done
    # HAProxy and nginx bind the VIP on both balancers, also while the
    # other one holds it.
    for n in "${LBS[@]}"; do
        in_ns "$n" sysctl -q -w net.ipv4.ip_nonlocal_bind=1 >/dev/null || return 1
    done
}

# hosts_net_down: delete the namespaces listed in hosts.netns (their veths
# go with them). Processes must be stopped first: a namespace lives on while
# a process is in it.
hosts_net_down() {
    local f ns
    f=$(hosts_file)
    [ -f "$f" ] || return 0
    while read -r ns; do
        [[ "$ns" =~ ^[a-z][a-z0-9]*-[a-z0-9]+$ ]] || continue
        ip netns list | grep -qw -- "$ns" && { ip netns del "$ns" || say "could not delete namespace $ns"; }
    done < <(tac "$f")
    rm -f "$f"
    say "removed the hosts' namespaces"
}

# ---------------------------------------------------------------- confs

# The loopback confs (make_confs) moved onto the hosts' addresses: every
# 127.0.0.N in a directive becomes $HOSTS_NET.N. The front's files are made
# once per balancer: listening on the VIP, stats on the balancer's own
# loopback (what keepalived checks), connecting to the edges from its own
# address.
hosts_make_confs() {
    make_confs
    local n f lb
    local to_net=(-e '/^[[:space:]]*#/b' -e "s/(^|[^0-9.])127\\.0\\.0\\.([0-9]{1,3})([^0-9]|\$)/\\1$HOSTS_NET.\\2\\3/g")
    local fr=${FRONT_IP//./\\.} src=${SOURCE_IP//./\\.}
    for n in "${NODES[@]}"; do
        f="$DIR/$n.conf"
        # the edges believe X-Real-IP from either balancer's nginx (proxy_bind below)
        sed -E -i -e "s/(set_real_ip_from[[:space:]]+)$src;/\\1${LB_IP[lb1]}; set_real_ip_from ${LB_IP[lb2]};/" \
                  "${to_net[@]}" "$f" || die "cannot write $f"
        "$BIN" -t -c "$f" >/dev/null 2>"$DIR/$n.check" || die "$f: $(cat "$DIR/$n.check")"
        rm -f "$DIR/$n.check"
    done
    for lb in "${LBS[@]}"; do
        f="$DIR/haproxy-$lb.cfg"
        sed -E -e '/^[[:space:]]*#/b' \
               -e "s/(^|[^0-9.])$fr:$FRONT_STATS([^0-9]|\$)/\\1@LOCAL@:$FRONT_STATS\\2/g" \
               -e "s/(^|[^0-9.])$fr:/\\1@VIP@:/g" \
               -e "s/(source[[:space:]]+)$src([^0-9]|\$)/\\1@LB@\\2/" \
               "$DIR/haproxy.cfg" | sed -E "${to_net[@]}" \
            | sed -E -e "s/@LOCAL@/127.0.0.1/g; s/@VIP@/$VIP/g; s/@LB@/${LB_IP[$lb]}/g" > "$f" \
            || die "cannot write $f"
        "$HAPROXY" -c -q -f "$f" >"$DIR/$lb.check" 2>&1 || die "$f: $(cat "$DIR/$lb.check")"
        f="$DIR/nginx-$lb.conf"
        mkdir -p "$DIR/nginx-$lb/tmp" "$DIR/nginx-$lb/logs"
        sed -E -e '/^[[:space:]]*#/b' \
               -e "s/(^|[^0-9.])$fr:/\\1@VIP@:/g" \
               -e "s/(proxy_bind[[:space:]]+)$src;/\\1@LB@;/" \
               -e "s#$DIR/nginx\\.#$DIR/nginx-$lb.#g" \
               -e "s#$DIR/nginx/tmp/#$DIR/nginx-$lb/tmp/#g" \
               "$DIR/nginx.conf" | sed -E "${to_net[@]}" | sed -e "s/@VIP@/$VIP/g; s/@LB@/${LB_IP[$lb]}/g" > "$f" \
            || die "cannot write $f"
        # (checked by hosts_check_nginx: nginx -t binds, so it needs the
        # balancer's namespace)
    done
    # keepalived: one file for both balancers (@lb1/@lb2 lines); the
    # example addresses of conf/keepalived.conf replaced by ours.
    f="$DIR/keepalived.conf"
    sed -E -e '/^[[:space:]]*#/b' \
           -e "s#198\\.18\\.0\\.10/#$VIP/#g" \
           -e "s#127\\.0\\.0\\.1:8404/#127.0.0.1:$FRONT_STATS/#g" \
           conf/keepalived.conf > "$f" || die "cannot write $f"
    for lb in "${LBS[@]}"; do
        keepalived -t -f "$f" -i "$lb" >"$DIR/$lb.check" 2>&1 || die "$f ($lb): $(cat "$DIR/$lb.check")"
        rm -f "$DIR/$lb.check"
    done
}

hosts_check_nginx() {
    local lb f
    for lb in "${LBS[@]}"; do
        f="$DIR/nginx-$lb.conf"
        in_ns "$lb" "$NGINX" -t -q -p "$DIR/nginx-$lb" -c "$f" -e "$DIR/nginx-$lb.error.log" -g 'daemon off;' \
            >"$DIR/$lb.check" 2>&1 || die "$f: $(cat "$DIR/$lb.check")"
        rm -f "$DIR/$lb.check"
    done
}

# ---------------------------------------------------------------- processes

# Is anything listening on IP:PORT in host NAME?
ns_listening() {
    local n=$1 ip=$2 port=$3 hex
    hex=$(printf '%02X%02X%02X%02X:%04X' $(echo "$ip" | awk -F. '{print $4, $3, $2, $1}') "$port")
    in_ns "$n" awk -v a="$hex" '$2 == a && $4 == "0A" {f=1} END {exit !f}' /proc/net/tcp
}
# curl from the client host (the network outside the cluster)
client_curl() { in_ns client curl "$@"; }

hosts_node_up() {
    local n=$1 ip
    ip=$(host_ip "$1")
    hosts_node_ready() { ns_listening "$n" "$ip" "$NODE_RTMP" && client_curl -s -o /dev/null --max-time 1 -f "http://$ip:$NODE_API/api/v1/health"; }
    wait_for "$n ($ip)" "$n" "$UP_TIMEOUT" hosts_node_ready
}

hosts_edges_up() {   # hosts_edges_up LB: that balancer's HAProxy has both edges UP
    local csv
    csv=$(in_ns "$1" curl -s --max-time 1 "http://127.0.0.1:$FRONT_STATS/;csv") || return 1
    [ "$(echo "$csv" | awk -F, '$1 == "edges" && $2 ~ /^edge/ && $18 == "UP"' | wc -l)" -ge 2 ]
}

# Which balancers have the VIP on their interface now (normally one; a
# SIGKILLed keepalived leaves it on its host too).
vip_holder() {
    local lb on=()
    for lb in "${LBS[@]}"; do
        ip -n "$(ns_of "$lb")" -br addr show dev eth0 2>/dev/null | grep -qF " $VIP/" && on+=("$lb")
    done
    [ ${#on[@]} -gt 0 ] && echo "${on[*]}"
}

hosts_stop_lbs() {
    local lb
    for lb in "${LBS[@]}"; do
        # The parent stops its VRRP child (which drops the VIP); the child
        # is stopped by its own pid when the parent was killed.
        stop_one "keepalived-$lb"
        stop_one "keepalived-$lb.vrrp"
        rm -f "$DIR/keepalived-$lb.main.pid"
    done
    for lb in "${LBS[@]}"; do
        stop_one "haproxy-$lb"
        stop_one "nginx-$lb"
    done
}

hosts_down() {
    hosts_active || return 0
    hosts_stop_lbs
    cmd_down
    hosts_net_down
}

hosts_print_urls() {
    local x="ip netns exec $(ns_of client)"
    local r="rtmp://$VIP:$FRONT_RTMP/live/$STREAM" h="http://$VIP:$FRONT_HTTP/live/$STREAM.flv"
    # publishers: HAProxy's publish front to the masters when the conf has one
    local pub="rtmp://$VIP:${FRONT_PUBLISH:-$FRONT_RTMP}/live/$STREAM"
    cat <<EOF

  Every node is a host (network namespace $NSP-NAME) on $HOSTS_NET.0/24; the
  front is the VIP $VIP, held by $(vip_holder || echo nobody) (lb1 ${LB_IP[lb1]}, lb2 ${LB_IP[lb2]}).
  The players' side is the host $(ns_of client) ($CLIENT_IP):

  publish:        $x ffmpeg -re -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine \\
                         -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -c:a aac -f flv $pub
  play RTMP:      $x ffplay $r
  play HTTP-FLV:  $x ffplay $h
  VIP holder:     ip -n $(ns_of lb1) -br addr; ip -n $(ns_of lb2) -br addr
  logs:           $(rel "$DIR")/*.log     stop: scripts/cluster.sh down

EOF
}

# up --hosts [--demo]
hosts_up() {
    local demo=${1:-} n lb
    hosts_check_settings
    for n in "${NODES[@]}" "${LBS[@]/#/haproxy-}" "${LBS[@]/#/nginx-}" "${LBS[@]/#/keepalived-}" demo; do
        pid_ok "$n" >/dev/null && die "$n is already running (pid $(pid_ok "$n")): scripts/cluster.sh down first"
    done
    hosts_active && die "$(hosts_file) exists: scripts/cluster.sh down first"
    command -v "$HAPROXY" >/dev/null || die "haproxy is missing (bash scripts/install-deps.sh)"
    command -v "$NGINX" >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is missing (bash scripts/install-deps.sh)"
    command -v "$NGINX" >/dev/null || NGINX=/usr/sbin/nginx
    [ -x "$BIN" ] || die "$BIN is not there (make objs/rill)"
    mkdir -p "$DIR" || die "cannot create $DIR"
    rm -f "$DIR"/*.log "$DIR"/*.pid
    hosts_make_confs
    # From here on, whatever stops us (an error, Ctrl-C) removes it all.
    trap 'trap - EXIT INT TERM HUP; say "failed: tearing down"; hosts_down >/dev/null 2>&1; exit 1' EXIT INT TERM HUP
    hosts_net_up || die "could not make the hosts' network"
    hosts_check_nginx
    say "hosts on $HOSTS_NET.0/24 (bridge in namespace $(ns_of net)); logs in $(rel "$DIR")"
    for n in "${NODES[@]}"; do
        spawn "$n" ip netns exec "$(ns_of "$n")" "$BIN" -c "$DIR/$n.conf"
    done
    for n in "${NODES[@]}"; do
        hosts_node_up "$n" || exit 1
        say "$(printf '%-7s %-15s pid %-7s (namespace %s)' "$n" "$(host_ip "$n")" "$(pid_ok "$n")" "$(ns_of "$n")")"
    done
    for lb in "${LBS[@]}"; do
        spawn "haproxy-$lb" ip netns exec "$(ns_of "$lb")" "$HAPROXY" -db -f "$DIR/haproxy-$lb.cfg"
        spawn "nginx-$lb" ip netns exec "$(ns_of "$lb")" "$NGINX" -p "$DIR/nginx-$lb" -c "$DIR/nginx-$lb.conf" \
            -e "$DIR/nginx-$lb.error.log" -g 'daemon off;'
    done
    for lb in "${LBS[@]}"; do
        wait_for "haproxy on $lb" "haproxy-$lb" "$UP_TIMEOUT" hosts_edges_up "$lb" || exit 1
        wait_for "nginx on $lb" "nginx-$lb" "$UP_TIMEOUT" ns_listening "$lb" "$VIP" "$FRONT_HTTP" || exit 1
        say "$(printf '%-7s %-15s haproxy pid %s, nginx pid %s' "$lb" "${LB_IP[$lb]}" "$(pid_ok "haproxy-$lb")" "$(pid_ok "nginx-$lb")")"
    done
    # keepalived last, so the first holder of the VIP already serves it.
    for lb in "${LBS[@]}"; do
        spawn "keepalived-$lb" ip netns exec "$(ns_of "$lb")" keepalived -n -l -G -P -f "$DIR/keepalived.conf" \
            -i "$lb" -p "$DIR/keepalived-$lb.main.pid" -r "$DIR/keepalived-$lb.vrrp.pid"
    done
    wait_for "the VIP $VIP" keepalived-lb1 "$UP_TIMEOUT" vip_holder >/dev/null || exit 1
    say "VIP     $VIP on $(vip_holder)"
    wait_for "the front through the VIP" keepalived-lb1 "$UP_TIMEOUT" \
        client_curl -s -o /dev/null --max-time 1 "http://$VIP:$FRONT_HTTP/players/" || exit 1
    if [ "$demo" = "--demo" ]; then
        command -v ffmpeg >/dev/null || die "ffmpeg is missing (bash scripts/install-deps.sh)"
        spawn demo ip netns exec "$(ns_of client)" ffmpeg -nostdin -hide_banner -loglevel warning -re \
            -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
            -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -sc_threshold 0 \
            -b:v 1M -maxrate 1M -bufsize 1M -c:a aac -f flv "rtmp://$VIP:${FRONT_PUBLISH:-$FRONT_RTMP}/live/$STREAM"
    fi
    trap - EXIT INT TERM HUP
    hosts_print_urls
}

hosts_status() {
    local n lb
    printf '%-12s %-15s %-8s %-7s %s\n' host address pid alive health
    for n in "${NODES[@]}"; do
        local ip pid alive=no health=down
        ip=$(host_ip "$n")
        pid=$(head -c 20 "$DIR/$n.pid" 2>/dev/null | tr -dc 0-9)
        pid_ok "$n" >/dev/null && alive=yes
        client_curl -s -o /dev/null --max-time 1 -f "http://$ip:$NODE_API/api/v1/health" && health=ok
        printf '%-12s %-15s %-8s %-7s %s\n' "$n" "$ip" "${pid:--}" "$alive" "$health"
    done
    for lb in "${LBS[@]}"; do
        local what=""
        for n in haproxy keepalived nginx; do
            if pid_ok "$n-$lb" >/dev/null; then what+="$n $(pid_ok "$n-$lb") "; else what+="$n DOWN "; fi
        done
        printf '%-12s %-15s %s\n' "$lb" "${LB_IP[$lb]}" "$what"
    done
    say "VIP $VIP on $(vip_holder || echo nobody)"
}
