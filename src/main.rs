//! `slotcore [CONFIG-FILE] [--directive value ...]`: starts the server.

use clap::{Arg, ArgAction, Command};
use slotcore::config::{parameters, Config};
use slotcore::notice;

#[global_allocator]
static ALLOCATOR: slotcore::memory::CountingAllocator = slotcore::memory::CountingAllocator;

/// The command line: an optional config file, then every parameter of the
/// config table as a `--name value...` flag.
fn cli() -> Command {
    let mut command = Command::new("slotcore")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A thread-per-core Redis Cluster node, compatible with Redis 7.0")
        .arg(
            Arg::new("config-file")
                .help("A Redis-style configuration file")
                .index(1),
        );
    for spec in parameters() {
        command = command.arg(
            Arg::new(spec.name)
                .long(spec.name)
                .num_args(1..)
                .action(ArgAction::Append)
                .value_name("VALUE"),
        );
    }
    command
}

fn load_config() -> Result<Config, String> {
    let matches = cli().get_matches();
    let mut config = Config::default();
    if let Some(path) = matches.get_one::<String>("config-file") {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("Fatal error, can't open config file '{path}': {e}"))?;
        config.apply_file_text(path, &text).map_err(|e| e.0)?;
        config.config_file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.into()));
    }
    for spec in parameters() {
        // A flag given twice: the last one wins, as in redis-server.
        if let Some(values) = matches
            .get_occurrences::<String>(spec.name)
            .and_then(|mut o| o.next_back())
        {
            let mut values: Vec<String> = values.cloned().collect();
            if values.is_empty() {
                values.push(String::new());
            }
            config
                .apply(spec.name, &values)
                .map_err(|reason| format!("Bad value for --{}: {reason}", spec.name))?;
        }
    }
    if config.cluster_enabled && !slotcore::config::inert::get(&config, "replicaof", "").is_empty()
    {
        return Err("replicaof directive not allowed in cluster mode".into());
    }
    Ok(config)
}

/// Handles SIGTERM and SIGINT like Redis: log, save if save points are
/// set (see `persist`), then exit with status 0.
/// The signals are blocked in every thread (the shard threads inherit the
/// mask) and one thread waits for them, so no handler runs inside a core.
fn handle_termination_signals() {
    // SAFETY: plain libc signal-mask calls on a locally owned sigset_t.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut signal: libc::c_int = 0;
            // SAFETY: sigwait reads the set and writes the signal number.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                continue;
            }
            let name = if signal == libc::SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            // Once the cores run, core 0 shuts down as SHUTDOWN does
            // (saving first when save points are set).
            if slotcore::shard::persist::request_shutdown(name) {
                continue;
            }
            slotcore::warning!("Received {name} scheduling shutdown...");
            notice!("User requested shutdown...");
            slotcore::process::remove_pidfile();
            notice!("slotcore is now ready to exit, bye bye...");
            std::process::exit(0);
        })
        .map(drop)
        .unwrap_or_else(|e| eprintln!("cannot start the signal thread: {e}"));
}

fn main() {
    let mut config = match load_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    };
    if let Err(error) = slotcore::log::open(&config.logfile) {
        eprintln!("Can't open the log file '{}': {error}", config.logfile);
        std::process::exit(1);
    }
    if let Err(error) = std::env::set_current_dir(&config.dir) {
        eprintln!("Can't chdir to '{}': {error}", config.dir.display());
        std::process::exit(1);
    }
    // Before any thread starts (the signal thread, the cores).
    if config.daemonize {
        if let Err(error) = slotcore::process::daemonize() {
            eprintln!("Can't daemonize: {error}");
            std::process::exit(1);
        }
        if config.pidfile.is_empty() {
            config.pidfile = slotcore::process::DEFAULT_PIDFILE.into();
        }
    }
    if !config.pidfile.is_empty() {
        slotcore::process::write_pidfile(&config.pidfile);
    }
    slotcore::clock::init();
    handle_termination_signals();
    notice!("oO0OoO0OoO0Oo slotcore is starting oO0OoO0OoO0Oo");
    notice!(
        "slotcore version={}, redis_version={}, bits={}, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        slotcore::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    notice!(
        "Running mode={}, port={}, shards={}",
        if config.cluster_enabled {
            "cluster"
        } else {
            "standalone"
        },
        config.port,
        config.shard_count()
    );
    // Kept with the inert parameters for their format, and acted on:
    // client-output-buffer-limit's pubsub class (`Config::output_limit`),
    // stop-writes-on-bgsave-error and bgsave_cpulist (`shard::persist`),
    // the AOF's (`shard::aof`).
    let acted_on = [
        "client-output-buffer-limit",
        "stop-writes-on-bgsave-error",
        "bgsave_cpulist",
        "appendfilename",
        "appenddirname",
        "appendfsync",
        "aof-load-truncated",
        "auto-aof-rewrite-percentage",
        "auto-aof-rewrite-min-size",
    ];
    let names: Vec<&str> = config
        .inert
        .keys()
        .copied()
        .filter(|name| !acted_on.contains(name))
        .collect();
    if !names.is_empty() {
        slotcore::warning!(
            "These directives are accepted for compatibility with Redis and have no effect here: {}",
            names.join(", ")
        );
    }
    if let Err(error) = slotcore::shard::run(config) {
        slotcore::warning!("{error}");
        std::process::exit(1);
    }
}
