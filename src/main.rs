//! `slotcore [CONFIG-FILE] [--directive value ...]`: starts the server.

use clap::{Arg, ArgAction, Command};
use slotcore::config::{Config, PARAMETERS};
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
    for spec in PARAMETERS {
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
    for spec in PARAMETERS {
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
    Ok(config)
}

fn main() {
    let config = match load_config() {
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
    if config.cluster_enabled {
        eprintln!(
            "cluster-enabled yes: cluster mode is not implemented yet in this version of slotcore"
        );
        std::process::exit(1);
    }
    if let Err(error) = std::env::set_current_dir(&config.dir) {
        eprintln!("Can't chdir to '{}': {error}", config.dir.display());
        std::process::exit(1);
    }
    slotcore::clock::init();
    notice!("oO0OoO0OoO0Oo slotcore is starting oO0OoO0OoO0Oo");
    notice!(
        "slotcore version={}, redis_version={}, bits={}, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        slotcore::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    notice!(
        "Running mode=standalone, port={}, shards={}",
        config.port,
        config.shard_count()
    );
    if let Err(error) = slotcore::shard::run(config) {
        slotcore::warning!("{error}");
        std::process::exit(1);
    }
}
