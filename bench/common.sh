# bench/common.sh: helpers shared by bench/compare-cluster, bench/memory and bench/scaling.
# Sourced, not run. Servers bind 127.0.0.1 only, on free ports; every process started through
# start_bg is killed by pid when the script exits (also on Ctrl-C), and the temp dir removed.
# shellcheck shell=bash

script_name=${script_name:-$(basename "$0")}
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

SLOTCORE_BIN=${SLOTCORE_BIN:-target/release/slotcore}
SLOTCORE_BENCH_BIN=${SLOTCORE_BENCH_BIN:-target/release/slotcore-bench}
STARTUP_TIMEOUT_S=${STARTUP_TIMEOUT_S:-15}
KEEP_TMP=${KEEP_TMP:-0}

log() { printf '%s\n' "$*" >&2; }
die() { log "$script_name: error: $*"; exit 1; }

tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-${script_name}.XXXXXX")
started_pids=()

stop_pid() { # pid
    local pid=$1 waited=0
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

common_cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${started_pids[@]}"; do
        stop_pid "$pid"
    done
    if [[ $KEEP_TMP == 1 ]]; then
        log "$script_name: kept $tmp_dir"
    else
        rm -rf -- "$tmp_dir"
    fi
    exit "$status"
}
trap common_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
    done
}

require_binary() { # path how-to-build
    [[ -x $1 ]] || die "$1 not found or not executable (build it with '$2')"
}

cli() { # port timeout_s args...
    local port=$1 limit_s=$2
    shift 2
    timeout "$limit_s" redis-cli -h 127.0.0.1 -p "$port" "$@" 2>&1 | tr -d '\r'
}

# A port nothing answers on, whose cluster bus port (+10000) is free too. A race with another
# process shows up as the server dying at startup; start_server retries on a fresh port.
pick_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
            ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# Returns 0 once PID answers PING on PORT, 1 if the process died, 2 on timeout.
wait_ready() { # pid port
    local pid=$1 port=$2 deadline=$((SECONDS + STARTUP_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        [[ $(cli "$port" 2 PING) == PONG ]] && return 0
        sleep 0.1
    done
    return 2
}

# start_server NAME CPUS KIND [extra args...]: KIND is redis or slotcore. Sets server_pid and
# server_port. CPUS is a taskset list ("0", "0-3") or "" for no pinning.
start_server() {
    local name=$1 cpus=$2 kind=$3 attempt port status data_dir
    shift 3
    for attempt in 1 2 3 4 5; do
        port=$(pick_port)
        data_dir="$tmp_dir/$name-$port"
        mkdir -p "$data_dir"
        local command=()
        [[ -n $cpus ]] && command+=(taskset -c "$cpus")
        if [[ $kind == redis ]]; then
            command+=(redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no
                --daemonize no --enable-debug-command yes --dir "$data_dir" "$@")
        else
            command+=("$SLOTCORE_BIN" --port "$port" --bind 127.0.0.1 --save "" --dir "$data_dir"
                --enable-debug-command yes "$@")
        fi
        "${command[@]}" >"$data_dir/server.log" 2>&1 &
        server_pid=$!
        server_port=$port
        server_log="$data_dir/server.log"
        started_pids+=("$server_pid")
        status=0
        wait_ready "$server_pid" "$port" || status=$?
        ((status == 0)) && return 0
        if ((status == 2)) || ! grep -qi 'address already in use' "$data_dir/server.log"; then
            log "--- $name log ---"; tail -n 20 "$data_dir/server.log" >&2
            stop_pid "$server_pid"
            return 1
        fi
        wait "$server_pid" 2>/dev/null || true
        log "$name: port $port was taken, retrying (attempt $attempt)"
    done
    return 1
}

# utime + stime of a process in clock ticks, read without forking (so polling it is cheap).
cpu_ticks() { # pid
    local stat fields
    read -r stat <"/proc/$1/stat" || return 1
    read -r -a fields <<<"${stat##*) }"
    echo $((fields[11] + fields[12]))
}

sum_cpu_ticks() { # pids...
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(cpu_ticks "$pid")))
    done
    echo "$total"
}

# Runs a command in the background and polls its CPU time from /proc/PID/stat every 20 ms
# until it exits; sets polled_ticks (the last value read: at most 20 ms short) and polled_status.
run_polled() { # out_file err_file limit_s command...
    local out=$1 err=$2 limit_s=$3 pid deadline ticks
    shift 3
    "$@" >"$out" 2>"$err" &
    pid=$!
    polled_ticks=0
    deadline=$((SECONDS + limit_s))
    while kill -0 "$pid" 2>/dev/null; do
        if ticks=$(cpu_ticks "$pid" 2>/dev/null); then polled_ticks=$ticks; fi
        if ((SECONDS > deadline)); then
            log "$script_name: $1 ran past ${limit_s}s; killing pid $pid"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.02
    done
    polled_status=0
    wait "$pid" || polled_status=$?
}

json_field() { # file python-expression-on-r
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}

ratio() { # a b
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

machine_header() { # command_line
    local cpu_model commit
    cpu_model=$(awk -F': *' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo)
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
    [[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || commit+=" (with uncommitted changes)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine:  nproc $(nproc), ${cpu_model:-unknown CPU}"
    echo "command:  $1"
    echo "commit:   $commit"
    echo "redis:    $(redis-server --version | awk '{ sub(/^v=/, "", $3); print $3 }')"
}

# Aligns a tab-separated table (first line the header) into columns.
render_table() {
    awk -F'\t' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) }
          if (NF > columns) columns = NF }
        END { for (r = 1; r <= NR; r++) { line = ""
                for (i = 1; i <= columns; i++) line = line sprintf(i == 1 ? "%-*s" : "  %*s", width[i], cell[r, i])
                print line } }'
}
