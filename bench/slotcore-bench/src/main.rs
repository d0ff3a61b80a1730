//! The `slotcore-bench` command: run a benchmark, or plot saved runs together.

use anyhow::{bail, Context};
use clap::Parser;
use slotcore_bench::config::{Cli, Command, ComparePlotArgs, PlotArgs};
use slotcore_bench::stats::Report;
use std::io::IsTerminal;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::ComparePlot(arguments)) => compare_plot(&arguments),
        Some(Command::Plot(arguments)) => plot(&arguments),
        None => run(&cli.run),
    };
    if let Err(error) = result {
        eprintln!("slotcore-bench: {error:#}");
        std::process::exit(1);
    }
}

fn run(arguments: &slotcore_bench::config::RunArgs) -> anyhow::Result<()> {
    let progress = !arguments.json && !arguments.no_progress && std::io::stdout().is_terminal();
    let report = slotcore_bench::run(arguments, progress)?;
    let json = serde_json::to_string_pretty(&report).context("encoding the JSON report")?;
    if let Some(path) = &arguments.json_file {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if arguments.json {
        println!("{json}");
    } else {
        print!("{}", report.to_text());
    }
    if let Some(directory) = &arguments.plot_dir {
        for path in slotcore_bench::plot::plot_run(&report, directory)? {
            eprintln!("slotcore-bench: wrote {}", path.display());
        }
    }
    if report.requests == 0 {
        bail!("no request succeeded");
    }
    Ok(())
}

fn read_report(path: &std::path::Path) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a slotcore-bench JSON report", path.display()))
}

fn plot(arguments: &PlotArgs) -> anyhow::Result<()> {
    let report = read_report(&arguments.report)?;
    for path in slotcore_bench::plot::plot_run(&report, &arguments.out)? {
        eprintln!("slotcore-bench: wrote {}", path.display());
    }
    Ok(())
}

fn compare_plot(arguments: &ComparePlotArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    for path in &arguments.reports {
        reports.push(read_report(path)?);
    }
    let labels: Vec<String> = if arguments.labels.is_empty() {
        arguments
            .reports
            .iter()
            .map(|path| {
                path.file_stem().map_or_else(
                    || path.display().to_string(),
                    |stem| stem.to_string_lossy().into_owned(),
                )
            })
            .collect()
    } else if arguments.labels.len() == reports.len() {
        arguments.labels.clone()
    } else {
        bail!(
            "--labels has {} labels for {} reports",
            arguments.labels.len(),
            reports.len()
        );
    };
    for path in slotcore_bench::plot::plot_compare(&reports, &labels, &arguments.out)? {
        eprintln!("slotcore-bench: wrote {}", path.display());
    }
    Ok(())
}
